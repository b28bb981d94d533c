"""Offline provider: cue cards and questions composed from the topic bank, with no network.

The topic is understood first (its kind, its theme, its general form), so that all three parts
of a mock test are about it; the reply then goes through the same IELTS format check as a
model's reply.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import replace
from functools import lru_cache

from .ielts_format import interpret
from .prompts import build_messages, call_record
from .themes import THEMES, Theme
from .topic_bank import GENERAL, KINDS, Kind
from .topics import Topic, understand
from .types import Generation


class OfflineProvider:
    """Deterministic for a given topic and part; never fails upstream."""

    name = "offline"
    remote = False  # no upstream call: nothing in flight to account for
    model = "offline-topic-bank"

    def close(self) -> None:
        """Nothing to release."""

    def generate(self, topic: str, part: int, count: int = 1) -> Generation:
        started = time.perf_counter()
        generation = _composed(topic, part, count)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return replace(generation, call=replace(generation.call, upstream_latency_ms=latency_ms))


# The same topic, part and count always compose the same reply: recent ones are kept.
@lru_cache(maxsize=1024)
def _composed(topic: str, part: int, count: int) -> Generation:
    understood = understand(topic)
    seed = int.from_bytes(hashlib.sha256(f"{understood.key}|{part}".encode()).digest()[:4])
    output = _cue_card(understood, seed) if part == 2 else _questions(understood, part, count, seed)
    call = call_record(
        OfflineProvider.name,
        OfflineProvider.model,
        topic,
        part,
        build_messages(topic, part, count),
        finish_reason="stop",
        output_text=json.dumps(output, ensure_ascii=False),
    )
    return replace(interpret(call, part, count), match=understood.match)


def _cue_card(topic: Topic, seed: int) -> dict[str, object]:
    """A Part 2 card: the bank's question, or one built for the topic's kind or theme."""
    shape = _kind(topic) or _theme(topic) or GENERAL
    if topic.bank_question:
        question = topic.bank_question
    elif topic.describable:
        tail = "" if topic.qualified else shape.tail
        question = f"Describe {topic.subject}{tail}."
    else:
        question = shape.mass_cue.format(things=topic.things)
    prompts = list(shape.prompts[:3] if seed % 2 else shape.prompts)
    return {"question": question, "prompts": prompts, "explain": shape.explain}


def _questions(topic: Topic, part: int, count: int, seed: int) -> dict[str, object]:
    """`count` different Part 1 or Part 3 questions from the kind's and the theme's templates."""
    sources = [s for s in (_kind(topic), _theme(topic)) if s is not None] or [GENERAL]
    templates = [t for source in sources for t in (source.part1 if part == 1 else source.part3)]
    if topic.match != "theme":
        # A theme's questions about "{things}" are written for abstract topics
        # ("climate change"); a concrete topic gets the kind's questions about it.
        kind_templates = set(sources[0].part1 + sources[0].part3)
        templates = [t for t in templates if t in kind_templates or "{things}" not in t]
    filled = dict.fromkeys(t.format(subject=topic.subject, things=topic.things) for t in templates)
    questions = random.Random(seed).sample(list(filled), count)
    return {"questions": [q[0].upper() + q[1:] for q in questions]}


def _kind(topic: Topic) -> Kind | None:
    return KINDS[topic.kind] if topic.kind else None


def _theme(topic: Topic) -> Theme | None:
    return THEMES[topic.theme] if topic.theme else None
