"""The offline provider: well-formed IELTS material for every part, deterministic, no network."""

from __future__ import annotations

import json

import pytest

from ielts_service.ai.ielts_format import parse_cue_card, parse_questions
from ielts_service.ai.offline import OfflineProvider
from ielts_service.ai.topic_bank import KINDS, TOPICS

provider = OfflineProvider()


def test_the_bank_has_at_least_fifty_topics_of_known_kinds() -> None:
    assert len(TOPICS) >= 50
    assert {kind for kind, _ in TOPICS.values()} <= set(KINDS)


@pytest.mark.parametrize("topic", [*TOPICS, "quantum gardening", "Ünïcode café"])
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
