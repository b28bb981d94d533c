"""Offline provider: real cue cards from the built-in topic bank, with no network at all."""

from __future__ import annotations

import hashlib
import json
import time

from .prompts import PROMPT_VERSION, build_messages, messages_sha256
from .topic_bank import KINDS, TOPICS
from .types import CallRecord, Generation

_KIND_NAMES = sorted(KINDS)


class OfflineProvider:
    """Deterministic for a given topic and part; never fails upstream."""

    name = "offline"
    model = "offline-topic-bank"

    def close(self) -> None:
        """Nothing to release."""

    def generate(self, topic: str, part: int, count: int = 1) -> Generation:
        started = time.perf_counter()
        seed = int.from_bytes(hashlib.sha256(f"{topic.lower()}|{part}".encode()).digest()[:4])
        kind_name, question = _lookup(topic, seed)
        kind = KINDS[kind_name]
        if part == 2:
            prompts = list(kind.prompts[:3] if seed % 2 else kind.prompts)
            questions, explain = [question], kind.explain
            output = {"question": question, "prompts": prompts, "explain": explain}
        else:
            pool = kind.part1 if part == 1 else kind.part3
            questions = [pool[(seed + i) % len(pool)].format(t=topic) for i in range(count)]
            prompts, explain = [], None
            output = {"questions": questions}
        call = CallRecord(
            provider=self.name,
            model=self.model,
            part=part,
            topic=topic,
            prompt_version=PROMPT_VERSION,
            messages_sha256=messages_sha256(build_messages(topic, part, count)),
            upstream_latency_ms=round((time.perf_counter() - started) * 1000, 3),
            finish_reason="stop",
            output_valid=True,
            output_text=json.dumps(output, ensure_ascii=False),
        )
        return Generation(questions, call, prompts, explain)


def _lookup(topic: str, seed: int) -> tuple[str, str]:
    """The bank's entry for a known topic; otherwise a kind chosen by the topic's hash."""
    known = TOPICS.get(topic.lower())
    if known:
        return known
    return _KIND_NAMES[seed % len(_KIND_NAMES)], f"Describe {topic}."
