"""Request and response models of the HTTP API; the OpenAPI document is generated from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
)

from .ai.types import TopicMatch
from .tables import AUDIT_FIELDS, AUDIT_KINDS, AuditField
from .text_rule import check_text

Part = Literal[1, 2, 3]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class InputModel(BaseModel):
    """Anything a client sends: every string field obeys the one text rule."""

    @field_validator("*")
    @classmethod
    def _safe_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            check_text(value)
        return value


class TopicModel(InputModel, StrictModel):
    topic: Topic = Field(description="What the questions are about, 1 to 200 characters.")


class QuestionRequest(TopicModel):
    part: Part = Field(default=2, description="IELTS Speaking part: 1, 2 (cue card) or 3.")

    @field_validator("part", mode="before")
    @classmethod
    def _an_integer(cls, value: object) -> object:
        # JSON true and 1.0 both equal 1 in Python; a part is an integer, nothing else.
        if type(value) is not int:
            raise ValueError("must be the integer 1, 2 or 3")
        return value


class SpeakingTestRequest(TopicModel):
    part1_count: int = Field(default=3, ge=1, le=5)
    part3_count: int = Field(default=3, ge=1, le=5)


Match = Annotated[
    TopicMatch | None,
    Field(
        description=(
            "How the offline provider understood the topic: `exact` (a topic of its bank), "
            "`kind` (a kind of thing such as a person, place or event), `theme` (an abstract "
            "theme such as the environment), `fallback` (neither: questions about the topic "
            "as written); null for a model."
        )
    ),
]


class Usage(StrictModel):
    prompt_tokens: int
    completion_tokens: int


class CueCard(StrictModel):
    question: str
    prompts: list[str]
    explain: str | None


class Question(CueCard):
    part: Part
    topic: str
    provider: str
    model: str
    match: Match
    usage: Usage


class SpeakingTest(StrictModel):
    topic: str
    part1: list[str]
    part2: CueCard
    part3: list[str]
    provider: str
    model: str
    match: Match
    usage: Usage


class Liveness(StrictModel):
    alive: Literal[True]


class Readiness(StrictModel):
    database: Literal["ok"]
    ratelimit_store: Literal["ok"]
    provider: str


class ErrorDetail(StrictModel):
    field: str
    message: str


class ErrorBody(StrictModel):
    status: Literal["error"]
    code: str
    message: str
    request_id: str
    details: list[ErrorDetail] | None = None


class AuditQuery(InputModel):
    """Query of GET /v1/audit/events (query strings are text, so not strict)."""

    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    key: str | None = Field(default=None, max_length=100)
    outcome: str | None = Field(default=None, max_length=40)
    kind: str | None = Field(default=None, description=f"One of: {', '.join(AUDIT_KINDS)}.")
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=100, ge=1, le=1000)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str | None) -> str | None:
        if value is not None and value not in AUDIT_KINDS:
            raise ValueError(f"must be one of {', '.join(AUDIT_KINDS)}")
        return value


def _api_type(field: AuditField) -> Any:
    python: Any = field.type.python_type
    if isinstance(field.type, sa.DateTime):
        python = str  # ISO 8601
    elif isinstance(field.type, sa.JSON):
        python = dict[str, Any]
    return python | None if field.nullable else python


# Built from the audit field table: a field added there is served here too.
_AUDIT_EVENT_FIELDS: dict[str, Any] = {f.name: (_api_type(f), ...) for f in AUDIT_FIELDS}
AuditEvent = create_model(
    "AuditEvent", __config__=ConfigDict(extra="forbid"), **_AUDIT_EVENT_FIELDS
)


class AuditEventsPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[AuditEvent]
    next_cursor: str | None
