"""The tamper-evident audit trail: every provider call and every operator action."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, request

from .. import metrics
from ..db import get_engine
from ..errors import ApiError
from ..lazy_cli import LazyGroup
from ..state import get_settings, request_state
from . import intents, store
from .chain import jsonable
from .operator import change_of, cli_actor, key_actor, record_operator_action

AUDIT_CLI_HELP = "The tamper-evident audit trail."

__all__ = [
    "append",
    "build_record",
    "change_of",
    "cli_actor",
    "init_app",
    "key_actor",
    "record_operator_action",
]

if TYPE_CHECKING:
    from ..ai.types import CallRecord, QuestionProvider

audit_log = logging.getLogger("ielts_service.audit")


@dataclass(frozen=True)
class RequestContext:
    """What the audit trail needs of the request, captured once so worker threads can use it."""

    request_id: str
    key_id: str | None
    client_ip: str | None
    route: str
    started: float


def request_context() -> RequestContext:
    """The current request, as its audit records describe it."""
    state = request_state()
    rule = request.url_rule.rule if request.url_rule else request.path
    return RequestContext(
        request_id=state.request_id or "",
        key_id=state.key.id if state.key else None,
        client_ip=request.remote_addr,
        route=rule,
        started=time.perf_counter() if state.started is None else state.started,
    )


def build_record(
    ctx: RequestContext, call: CallRecord, *, outcome: str, status: int
) -> dict[str, Any]:
    """The fields of one audit record (id, time and chain fields are added on append)."""
    settings = get_settings()
    return {
        "kind": "model_call",
        "request_id": ctx.request_id,
        "key_id": ctx.key_id,
        "client_ip": ctx.client_ip,
        "route": ctx.route,
        "part": call.part,
        "topic": call.topic,
        "provider": call.provider,
        "model": call.model,
        "api_version": call.api_version,
        "outcome": outcome,
        "status": status,
        "latency_ms": round((time.perf_counter() - ctx.started) * 1000, 2),
        "upstream_latency_ms": call.upstream_latency_ms,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "retries": call.retries,
        "finish_reason": call.finish_reason,
        "content_filter": call.content_filter,
        "output_valid": call.output_valid,
        "on_topic": call.on_topic,
        "prompt_version": call.prompt_version,
        "messages_sha256": call.messages_sha256,
        **store.content_fields(call.output_text, settings.AUDIT_STORE_CONTENT),
    }


def open_intents(
    ctx: RequestContext, provider: QuestionProvider, topic: str, parts: list[int]
) -> list[str]:
    """Record the upstream calls about to be made, or raise 503 `audit_unavailable` before any
    is made. A provider without an upstream (offline) needs none."""
    if not provider.remote:
        return []
    calls = [
        {
            "request_id": ctx.request_id,
            "key_id": ctx.key_id,
            "client_ip": ctx.client_ip,
            "route": ctx.route,
            "part": part,
            "topic": topic,
            "provider": provider.name,
            "model": provider.model,
        }
        for part in parts
    ]
    try:
        return intents.open_intents(get_engine(), calls)
    except sa.exc.SQLAlchemyError as exc:
        metrics.AUDIT_WRITES.labels(outcome="failure").inc()
        raise _unavailable() from exc


@contextmanager
def released_on_error(intent_ids: Sequence[str]) -> Iterator[None]:
    """An unexpected exception ends the calls without a record: the sweep closes them."""
    try:
        yield
    except BaseException:
        intents.release(intent_ids)
        raise


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "audit_unavailable",
        "the audit store is unavailable; nothing was returned",
        headers={"Retry-After": "1"},
    )


def append(records: list[dict[str, Any]], intent_ids: Sequence[str] = ()) -> None:
    """Commit the records (closing their intents), or raise 503 `audit_unavailable` (the event
    still reaches the logs, the metrics and, through the error log line, Sentry)."""
    started = time.perf_counter()
    try:
        stored = store.append(get_engine(), records, intent_ids)
    except sa.exc.SQLAlchemyError as exc:
        metrics.AUDIT_WRITES.labels(outcome="failure").inc()
        intents.release(intent_ids)
        for record in records:
            audit_log.error(
                "audit record could not be committed",
                extra={
                    "audit": jsonable(record),
                    "error_type": type(exc.__cause__ or exc).__name__,
                },
            )
        raise _unavailable() from exc
    metrics.AUDIT_WRITES.labels(outcome="success").inc(len(stored))
    metrics.AUDIT_WRITE_LATENCY.observe(time.perf_counter() - started)
    for row in stored:
        audit_log.info("audit record", extra={"audit": jsonable(row)})


def init_app(app: Flask) -> None:
    app.cli.add_command(LazyGroup("audit", f"{__name__}.cli:audit_cli", help=AUDIT_CLI_HELP))
