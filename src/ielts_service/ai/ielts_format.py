"""Parse the model's JSON reply and check it has the real IELTS Speaking format."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class _CueCardReply(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: str
    prompts: list[str]
    explain: str


class _QuestionsReply(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    questions: list[str]


class FormatError(ValueError):
    """The reply is not JSON of the schema, or not in IELTS format."""


def parse_cue_card(text: str) -> tuple[str, list[str], str]:
    """(question, prompts, explain) of a Part 2 reply, or FormatError."""
    try:
        reply = _CueCardReply.model_validate_json(text)
    except ValidationError as exc:
        raise FormatError(
            f"reply does not match the cue-card schema: {exc.error_count()} errors"
        ) from None
    question, explain = _clean(reply.question), _clean(reply.explain)
    prompts = [_clean(p).lstrip("-•* ").strip() for p in reply.prompts]
    if not question.lower().startswith("describe "):
        raise FormatError("a Part 2 question must start with 'Describe'")
    if not 3 <= len(prompts) <= 4 or not all(prompts):
        raise FormatError("a Part 2 cue card needs 3 or 4 non-empty prompts")
    if not explain.lower().startswith("and explain"):
        raise FormatError("a Part 2 cue card ends with 'and explain ...'")
    return question, prompts, explain


def parse_questions(text: str, count: int) -> list[str]:
    """The `count` questions of a Part 1 or Part 3 reply, or FormatError."""
    try:
        reply = _QuestionsReply.model_validate_json(text)
    except ValidationError as exc:
        raise FormatError(
            f"reply does not match the questions schema: {exc.error_count()} errors"
        ) from None
    questions = [_clean(q) for q in reply.questions]
    if len(questions) != count:
        raise FormatError(f"expected {count} questions, got {len(questions)}")
    if not all(q.endswith("?") and len(q) > 5 for q in questions):
        raise FormatError("each question must be a sentence ending with '?'")
    return questions


def _clean(text: str) -> str:
    return " ".join(text.split())
