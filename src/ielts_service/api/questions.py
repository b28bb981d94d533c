"""POST /v1/questions (and /generate-question for older clients): one IELTS question."""

from __future__ import annotations

from flask import Blueprint, Response

from ..ai import get_provider
from ..auth import require_scope
from ..generation import generate_one
from ..limits import per_key_limits
from ..openapi import AI_ERRORS, documented
from ..schemas import Question, QuestionRequest, Usage
from ..validation import parse_body
from .envelope import success

bp = Blueprint("questions", __name__)


@bp.post("/v1/questions")
@bp.post("/generate-question")
@documented(
    "Generate one IELTS Speaking question",
    "Part 2 returns a cue card (question, 3-4 prompts, explain); Parts 1 and 3 return one "
    "question with empty prompts and a null explain.",
    response=Question,
    body=QuestionRequest,
    errors=AI_ERRORS,
    deprecated_paths=frozenset({"/generate-question"}),
)
@require_scope("questions:generate")
@per_key_limits
def create_question() -> Response:
    """Generate one question: a Part 2 cue card, or a Part 1 or Part 3 question."""
    body = parse_body(QuestionRequest)
    provider = get_provider()
    generation = generate_one(provider, body.topic, body.part)
    call = generation.call
    return success(
        Question(
            part=body.part,
            topic=body.topic,
            question=generation.questions[0],
            prompts=generation.prompts,
            explain=generation.explain,
            provider=provider.name,
            model=provider.model,
            match=generation.match,
            usage=Usage(prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens),
        )
    )
