"""Topic understanding: wording, kinds, themes, and the relevance check built on it."""

from __future__ import annotations

import pytest

from ielts_service.ai.offline import OfflineProvider
from ielts_service.ai.relevance import on_topic
from ielts_service.ai.themes import THEMES
from ielts_service.ai.topic_bank import KINDS
from ielts_service.ai.topics import understand
from ielts_service.ai.types import CallRecord, Generation

provider = OfflineProvider()


@pytest.mark.parametrize(
    ("topic", "question"),
    [
        ("my favourite teacher", "Describe your favourite teacher."),
        ("My Favourite Teacher", "Describe your favourite teacher."),
        ("a time I was angry", "Describe a time you were angry."),
        ("something I bought last year", "Describe something you bought last year."),
        ("an trip", "Describe a trip that you remember well."),
        ("a a trip", "Describe a trip that you remember well."),
        ("the the park", "Describe a park or garden you like to visit."),
        ("a trip to a island", "Describe a trip to an island."),
        ("an European city", "Describe a European city that you have visited."),
        ("umbrella", "Describe an umbrella that is important to you."),
        ("a honest friend", "Describe an honest friend who has influenced you."),
        ("memorable trips", "Describe a memorable trip you took."),
        ("teachers", "Describe a teacher who has influenced you."),
        ("Describe a book you read recently.", "Describe a book you read recently."),
        ("A MEMORABLE TRIP", "Describe a memorable trip you took."),
        ("a TV programme", "Describe a TV programme that you enjoyed."),
        ("A Trip To Paris", "Describe a trip to Paris."),
        ("a piece of advice you received", "Describe a piece of advice you received."),
    ],
)
def test_part2_question_has_the_right_pronoun_and_article(topic: str, question: str) -> None:
    assert provider.generate(topic, 2).questions == [question]


@pytest.mark.parametrize(
    ("topic", "subject", "things"),
    [
        ("my parents", "your parents", "parents"),
        ("a person who inspires me", "a person who inspires you", "people who inspire others"),
        (
            "someone I would like to meet",
            "someone you would like to meet",
            "people others would like to meet",
        ),
        (
            "a place where I like to relax",
            "a place where you like to relax",
            "places where people like to relax",
        ),
        ("a famous businessman", "a famous businessman", "famous businessmen"),
        ("climate change", "climate change", "climate change"),
        ("the environment", "the environment", "the environment"),
        ("playing video games", "playing video games", "playing video games"),
        ("my hometown", "your hometown", "towns and cities"),
    ],
)
def test_subject_and_general_form(topic: str, subject: str, things: str) -> None:
    understood = understand(topic)
    assert (understood.subject, understood.things) == (subject, things)


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("my favourite teacher", "person"),
        ("a city you would like to live in", "place"),
        ("your bedroom", "home"),
        ("a long train journey", "journey"),
        ("a watch you wear", "object"),
        ("a wedding you went to", "event"),
        ("gardening", "activity"),
        ("a podcast you listen to", "media"),
        ("a language you would like to learn", "skill"),
        ("an argument you had", "experience"),
    ],
)
def test_each_kind_gets_its_cue_card(topic: str, kind: str) -> None:
    understood = understand(topic)
    assert (understood.match, understood.kind) == ("kind", kind)
    card = provider.generate(topic, 2)
    assert card.match == "kind"
    assert card.prompts == list(KINDS[kind].prompts[: len(card.prompts)])
    assert card.explain == KINDS[kind].explain


def test_every_kind_is_covered_above() -> None:
    covered = {"person", "place", "home", "journey", "object", "event", "activity", "media"}
    assert set(KINDS) == covered | {"skill", "experience"}


@pytest.mark.parametrize(
    ("topic", "theme"),
    [
        ("climate change", "environment"),
        ("artificial intelligence", "technology"),
        ("online learning", "education"),
        ("unemployment", "work"),
        ("mental health", "health"),
        ("traditions", "culture"),
        ("tourism", "travel"),
        ("fast food", "food"),
        ("the Olympics", "sport"),
        ("advertising", "money"),
        ("friendship", "family"),
        ("public transport", "city"),
        ("wild animals", "nature"),
        ("the arts", "art"),
    ],
)
def test_each_theme_frames_all_three_parts(topic: str, theme: str) -> None:
    understood = understand(topic)
    assert (understood.match, understood.theme) == ("theme", theme)
    parts = [provider.generate(topic, part, 3) for part in (1, 2, 3)]
    assert all(on_topic(topic, generation) for generation in parts)
    assert all(generation.match == "theme" for generation in parts)


def test_every_theme_is_covered_above() -> None:
    assert len(THEMES) == 14


@pytest.mark.parametrize(
    ("topic", "match"),
    [
        ("a memorable trip", "exact"),
        ("a memorible trip", "exact"),  # a typo still finds the bank topic
        ("my favourite teacher", "kind"),
        ("a resturant you like", "kind"),
        ("technology", "theme"),
        ("tecnology", "theme"),
        ("xyzzy", "fallback"),
        ("photography", "theme"),  # one word is not a misspelt 'photograph'
    ],
)
def test_how_a_topic_matched(topic: str, match: str) -> None:
    assert understand(topic).match == match


def test_the_same_topic_in_other_words_gets_the_same_questions() -> None:
    variants = ["my favourite teacher", "  My favourite teacher. ", "MY FAVOURITE TEACHER"]
    parts = {tuple(provider.generate(v, 1, 3).questions) for v in variants}
    assert len(parts) == 1


@pytest.mark.parametrize("part", [1, 2, 3])
def test_output_is_deterministic_across_processes_state(part: int) -> None:
    first = provider.generate("climate change", part, 3)
    understand.cache_clear()
    second = OfflineProvider().generate("climate change", part, 3)
    assert (first.questions, first.prompts) == (second.questions, second.prompts)


def _reply(*questions: str) -> Generation:
    call = CallRecord("azure", "m", 1, "t", "v", "0" * 64)
    return Generation(list(questions), call)


@pytest.mark.parametrize(
    ("topic", "question", "expected"),
    [
        ("a memorable trip", "Where did you go on holiday last year?", True),  # its theme
        ("my favourite teacher", "Did your teachers give you much homework?", True),
        ("something you bought", "What did you buy last week?", True),  # bought -> buy
        ("climate change", "Do you recycle at home?", True),
        ("a book", "What do you enjoy about travelling?", False),
        ("climate change", "What is your favourite film?", False),
        ("???", "Anything at all?", True),  # nothing to look for cannot be missed
    ],
)
def test_relevance_check(topic: str, question: str, expected: bool) -> None:
    assert on_topic(topic, _reply(question)) is expected
