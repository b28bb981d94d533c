"""POST /v1/questions (and /generate-question for older clients): one IELTS question."""

from __future__ import annotations

from flask import Blueprint, Response

from ..ai import get_provider
from ..generation import generate_one
from ..openapi import AI_ERRORS
from ..schemas import Question, QuestionRequest, Usage
from .envelope import success
from .routes import Routes

bp = Blueprint("questions", __name__)
generators = Routes(bp, scope="questions:generate", token_budget=True)


@generators.post(
    "/v1/questions",
    response=Question,
    errors=AI_ERRORS,
    deprecated_paths=frozenset({"/generate-question"}),
)
def create_question(body: QuestionRequest) -> Response:
    """Generate one IELTS Speaking question.

    Part 2 returns a cue card (question, 3-4 prompts, explain); Parts 1 and 3 return one
    question with empty prompts and a null explain.
    """
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
