"""Request and response models of the HTTP API; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
    model_validator,
)

from .ai.types import TopicMatch
from .keys import SCOPES, check_rate_limit
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
    kind: str | None = Field(
        default=None,
        description=f"One of: {', '.join(AUDIT_KINDS)}.",
        json_schema_extra={"enum": [*AUDIT_KINDS, None]},
    )
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


Scope = Literal["questions:generate", "audit:read", "admin"]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Scopes = Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))]
RateLimit = Annotated[
    str,
    # The pattern only outlines the form (documented); the limits library checks it.
    StringConstraints(min_length=1, max_length=100, pattern=r"^[0-9][0-9A-Za-z /;,]*$"),
    AfterValidator(check_rate_limit),
]
# At most what the api_keys.token_budget column (a 32-bit integer) holds.
TokenBudget = Annotated[int, Field(ge=1, le=2**31 - 1, description="Tokens per day.")]


class Key(StrictModel):
    """An API key as operators see it: never its secret or the secret's hash."""

    id: str
    name: str
    scopes: list[str]
    rate_limit: str | None = Field(description="Its own request limit; null: the default.")
    token_budget: int | None = Field(description="Its own daily token budget; null: the default.")
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class KeyWithSecret(Key):
    secret: str = Field(description="The full key: shown only in this answer.")


class KeysPage(StrictModel):
    keys: list[Key]
    next_cursor: str | None


class KeysQuery(InputModel):
    """Query of GET /v1/admin/keys."""

    model_config = ConfigDict(extra="forbid")
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=100, ge=1, le=1000)


class KeyCreateRequest(InputModel, StrictModel):
    name: KeyName
    scopes: Scopes
    rate_limit: RateLimit | None = None
    token_budget: TokenBudget | None = None
    expires_in: str | None = Field(
        default=None, pattern=r"^[1-9]\d{0,3}[smhdw]$", description="Lifetime such as 30d or 12h."
    )


class KeyUpdateRequest(InputModel, StrictModel):
    """Fields to change; null clears a field (back to the default, or never expiring)."""

    rate_limit: RateLimit | None = None
    token_budget: TokenBudget | None = None
    expires_at: AwareDatetime | None = None
    scopes: Scopes | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> KeyUpdateRequest:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(KeyUpdateRequest.model_fields)}")
        if "scopes" in self.model_fields_set and self.scopes is None:
            raise ValueError("scopes cannot be cleared: a key needs at least one scope")
        return self


class KeyRotateRequest(InputModel, StrictModel):
    grace: str | None = Field(
        default=None,
        pattern=r"^\d{1,6}[smhdw]$",
        description="How long the old secret keeps working (0s: not at all).",
    )


class UsageQuery(InputModel):
    """Query of GET /v1/admin/usage (default: the last 7 days)."""

    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    key: str | None = Field(default=None, max_length=100)
    group_by: Literal["day", "key"] = "day"

    @field_validator("since", "until")
    @classmethod
    def _a_year_of_this_era(cls, value: datetime | None) -> datetime | None:
        # Windows are computed around these times: year 1 or 9999 would overflow.
        if value is not None and not 1970 <= value.year <= 9000:
            raise ValueError("must be between the years 1970 and 9000")
        return value


class KeyUsage(StrictModel):
    key_id: str | None
    requests: int = Field(description="Requests (request ids) that reached a provider.")
    prompt_tokens: int
    completion_tokens: int
    errors: int = Field(description="Of those, requests not answered with success.")


class DailyKeyUsage(KeyUsage):
    day: str = Field(description="UTC calendar day, YYYY-MM-DD.")


class UsageReport(StrictModel):
    usage: list[DailyKeyUsage] | list[KeyUsage]


class TokenBudgetState(StrictModel):
    limit: int
    used: int
    remaining: int
    resets_at: str | None = Field(description="When the window ends; null before it starts.")


class OwnUsage(StrictModel):
    key_id: str
    rate_limit: str = Field(description="The key's request limit (its own or the default).")
    token_budget: TokenBudgetState | None
    requests_today: int = Field(description="Requests since 00:00 UTC.")
