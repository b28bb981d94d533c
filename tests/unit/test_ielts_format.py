"""The IELTS format check every reply passes, from a model or from the offline provider."""

from __future__ import annotations

import json

import pytest

from ielts_service.ai.ielts_format import FormatError, parse_cue_card, parse_questions


def _card(question: str, prompts: list[str] | None = None) -> str:
    prompts = prompts or ["where it is", "when you went there", "what you did there"]
    return json.dumps({"question": question, "prompts": prompts, "explain": "and explain why."})


@pytest.mark.parametrize(
    "question",
    [
        "Describe a hour you enjoyed.",
        "Describe an book you read.",
        "Describe a the park you like.",
        "Describe your your hometown.",
        "describe a park you like.",
        "Describe a park? Or a garden.",
    ],
)
def test_cue_card_grammar_faults_are_rejected(question: str) -> None:
    with pytest.raises(FormatError):
        parse_cue_card(_card(question))


@pytest.mark.parametrize(
    "question",
    [
        "Describe an hour you enjoyed.",
        "Describe a university you know.",
        "Describe a European city you visited.",
        "Describe an MBA course you took.",
        "Describe a historic building.",
        "Describe an honest friend.",
    ],
)
def test_articles_as_the_next_word_is_said_pass(question: str) -> None:
    assert parse_cue_card(_card(question))[0] == question


@pytest.mark.parametrize(
    "question",
    [
        "do you like travelling?",
        "Do you like travelling? Why?",
        "Do you like travelling",
        "Do you like a the beach?",
        "Is there a airport near you?",
    ],
)
def test_question_faults_are_rejected(question: str) -> None:
    with pytest.raises(FormatError):
        parse_questions(json.dumps({"questions": [question]}), 1)


def test_a_prompt_with_a_wrong_article_is_rejected() -> None:
    with pytest.raises(FormatError):
        parse_cue_card(_card("Describe a park.", ["where it is", "a important memory", "who"]))
