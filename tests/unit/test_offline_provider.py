"""The offline provider: well-formed IELTS material for every part, deterministic, no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ielts_service.ai.ielts_format import parse_cue_card, parse_questions
from ielts_service.ai.offline import OfflineProvider
from ielts_service.ai.relevance import on_topic
from ielts_service.ai.topic_bank import KINDS, TOPICS

provider = OfflineProvider()
TOPIC_LIST = [
    line.strip()
    for line in (Path(__file__).parents[1] / "data" / "ielts_topics.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
# What users type besides real topics: none of it may make the provider fail.
ODD_TOPICS = [
    "quantum gardening",
    "Ünïcode café",
    "a",
    "???",
    "the the the",
    "my my",
    "I",
    "x" * 200,
    "🙂",
    "a trip to a island",
    "what is love?",
    "DROP TABLE",
    "'quoted'",
]


def test_the_bank_has_at_least_fifty_topics_of_known_kinds() -> None:
    assert len(TOPICS) >= 50
    assert {kind for kind, _ in TOPICS.values()} <= set(KINDS)


@pytest.mark.parametrize("topic", [*TOPICS, *ODD_TOPICS])
def test_part2_cue_cards_pass_the_ielts_format_check(topic: str) -> None:
    generation = provider.generate(topic, 2)
    question, prompts, explain = parse_cue_card(generation.call.output_text or "")
    assert (question, prompts, explain) == (
        generation.questions[0],
        generation.prompts,
        generation.explain,
    )


@pytest.mark.parametrize("part", [1, 3])
@pytest.mark.parametrize("count", [1, 3, 5])
def test_part1_and_part3_give_count_questions(part: int, count: int) -> None:
    generation = provider.generate("a book", part, count)
    assert parse_questions(generation.call.output_text or "", count) == generation.questions
    assert len(set(generation.questions)) == count
    assert generation.prompts == []
    assert generation.explain is None


@pytest.mark.parametrize("part", [1, 2, 3])
def test_output_is_deterministic_for_topic_and_part(part: int) -> None:
    first, second = (
        provider.generate("a festival", part, 3),
        provider.generate("a festival", part, 3),
    )
    assert first.questions == second.questions
    assert first.prompts == second.prompts


def test_call_record_describes_an_offline_call() -> None:
    call = provider.generate("a city you visited", 2).call
    assert call.provider == "offline"
    assert call.output_valid
    assert call.finish_reason == "stop"
    assert len(call.messages_sha256) == 64
    assert json.loads(call.output_text or "")["question"].startswith("Describe")


def test_the_topic_list_is_long_and_varied() -> None:
    assert len(TOPIC_LIST) >= 200
    assert len(set(TOPIC_LIST)) == len(TOPIC_LIST)
    assert any(t.startswith("my ") for t in TOPIC_LIST)
    assert any(" " not in t for t in TOPIC_LIST)


@pytest.mark.parametrize("topic", TOPIC_LIST)
def test_a_mock_test_of_the_list_is_well_formed_and_has_no_repeats(topic: str) -> None:
    parts = [provider.generate(topic, part, count) for part, count in ((1, 5), (2, 1), (3, 5))]
    assert parse_questions(parts[0].call.output_text or "", 5) == parts[0].questions
    assert parse_cue_card(parts[1].call.output_text or "")[0] == parts[1].questions[0]
    questions = [q for generation in parts for q in generation.questions]
    assert len(set(questions)) == len(questions)


def test_the_lists_mock_tests_stay_on_topic_and_rarely_fall_back() -> None:
    on, fallback = 0, 0
    for topic in TOPIC_LIST:
        parts = [provider.generate(topic, part, 3) for part in (1, 2, 3)]
        on += all(on_topic(topic, generation) for generation in parts)
        fallback += parts[1].match == "fallback"
    assert on / len(TOPIC_LIST) >= 0.95
    assert fallback / len(TOPIC_LIST) <= 0.05
