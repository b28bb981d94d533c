"""What a question provider returns, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..errors import ApiError

# How the offline provider matched a topic: a bank topic, a kind, a theme, or neither.
TopicMatch = Literal["exact", "kind", "theme", "fallback"]


@dataclass(frozen=True)
class CallRecord:
    """What one provider call did: the raw material of audit records and metrics."""

    provider: str
    model: str
    part: int
    topic: str
    prompt_version: str
    messages_sha256: str
    api_version: str | None = None
    upstream_latency_ms: float | None = None
    retries: int = 0
    finish_reason: str | None = None
    content_filter: str | None = None
    output_valid: bool | None = None
    on_topic: bool | None = None  # the reply mentions the topic or its theme
    prompt_tokens: int = 0
    completion_tokens: int = 0
    output_text: str | None = None


@dataclass(frozen=True)
class Generation:
    """Questions for one IELTS part: one cue card for Part 2, `count` questions otherwise."""

    questions: list[str]
    call: CallRecord
    prompts: list[str] = field(default_factory=list)
    explain: str | None = None
    match: TopicMatch | None = None  # None for a model


@dataclass(eq=False)
class UpstreamFailure(ApiError):
    """A provider call that failed; carries its CallRecord so the failure is audited."""

    call: CallRecord


class QuestionProvider(Protocol):
    name: str
    model: str
    remote: bool  # whether a call goes to an upstream model (and may cost tokens)

    def generate(self, topic: str, part: int, count: int = 1) -> Generation:
        """Questions for `part` on `topic`; raises UpstreamFailure."""
        ...

    def close(self) -> None:
        """Release connections (called when the app is discarded)."""
        ...
