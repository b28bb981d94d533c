"""Parse a reply's JSON and check it has the real IELTS Speaking format and clean grammar.

The same check applies to every provider: a model's reply and the offline provider's alike.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, ValidationError

from .english import indefinite_article
from .types import CallRecord, Generation, UpstreamFailure

_DOUBLED_ARTICLE = re.compile(r"\b(a|an|the|your|my)\s+(a|an|the|your|my)\b", re.IGNORECASE)
_ARTICLE = re.compile(r"\b(a|an)\s+([A-Za-z][\w-]*)")


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


def interpret(call: CallRecord, part: int, count: int) -> Generation:
    """The Generation of a completed call whose reply passes the check, or the UpstreamFailure."""
    if call.finish_reason == "content_filter":
        raise UpstreamFailure(
            422, "content_filtered", "the reply was withheld by the content filter", call
        )
    text = call.output_text or ""
    try:
        if part == 2:
            question, prompts, explain = parse_cue_card(text)
            return Generation([question], replace(call, output_valid=True), prompts, explain)
        return Generation(parse_questions(text, count), replace(call, output_valid=True))
    except FormatError as exc:
        invalid = replace(call, output_valid=False)
        raise UpstreamFailure(
            502, "upstream_invalid_response", f"the model's reply was unusable: {exc}", invalid
        ) from exc


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
    if not question.startswith("Describe "):
        raise FormatError("a Part 2 question must start with 'Describe'")
    if not 3 <= len(prompts) <= 4 or not all(prompts):
        raise FormatError("a Part 2 cue card needs 3 or 4 non-empty prompts")
    if not explain.lower().startswith("and explain"):
        raise FormatError("a Part 2 cue card ends with 'and explain ...'")
    if "?" in question[:-1]:
        raise FormatError("a Part 2 question is one sentence")
    for sentence in (question, *prompts, explain):
        _check_articles(sentence)
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
    for question in questions:
        if len(question) <= 5 or not question.endswith("?") or question.count("?") != 1:
            raise FormatError("each question must be one sentence ending with '?'")
        if not question[0].isupper():
            raise FormatError("each question must start with a capital letter")
        _check_articles(question)
    return questions


def _check_articles(sentence: str) -> None:
    """No doubled article ('a the', 'your your'); 'a' or 'an' as the next word is said."""
    if _DOUBLED_ARTICLE.search(sentence):
        raise FormatError(f"doubled article in {sentence!r}")
    for article, word in _ARTICLE.findall(sentence):
        # Only the clear cases: a vowel sound after 'a', or a consonant letter after 'an'.
        expected = indefinite_article(word)
        if article.lower() != expected and (expected == "an" or word[0].lower() not in "hu"):
            raise FormatError(f"'{article} {word}' in {sentence!r}")


def _clean(text: str) -> str:
    return " ".join(text.split())
