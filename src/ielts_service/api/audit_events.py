"""GET /v1/audit/events: audit records for auditors, newest first, cursor-paginated."""

from __future__ import annotations

import base64
import binascii
import json

import sqlalchemy as sa
from flask import Blueprint, Response

from ..audit.chain import jsonable
from ..auth import require_scope
from ..clock import as_utc
from ..db import get_engine
from ..errors import ApiError
from ..limits import per_key_limits
from ..openapi import documented
from ..schemas import AuditEvent, AuditEventsPage, AuditQuery
from ..tables import api_keys, audit_events
from ..validation import parse_query
from .envelope import success

bp = Blueprint("audit_events", __name__)


@bp.get("/v1/audit/events")
@documented(
    "List audit records, newest first",
    "Filters: since, until (ISO 8601), key (id or name), outcome; cursor pagination.",
    response=AuditEventsPage,
    query=AuditQuery,
)
@require_scope("audit:read")
@per_key_limits
def list_audit_events() -> Response:
    """Audit records matching the filters, newest first."""
    query = parse_query(AuditQuery)
    statement = sa.select(audit_events).order_by(audit_events.c.seq.desc()).limit(query.limit + 1)
    if query.cursor:
        statement = statement.where(audit_events.c.seq < _decode_cursor(query.cursor))
    if query.since:
        statement = statement.where(audit_events.c.time >= as_utc(query.since))
    if query.until:
        statement = statement.where(audit_events.c.time < as_utc(query.until))
    if query.outcome:
        statement = statement.where(audit_events.c.outcome == query.outcome)
    if query.kind:
        statement = statement.where(audit_events.c.kind == query.kind)
    with get_engine().connect() as conn:
        if query.key:
            by_name = sa.select(api_keys.c.id).where(api_keys.c.name == query.key)
            key_id = conn.execute(by_name).scalar() or query.key
            # The key's own calls and the operator actions done to it.
            statement = statement.where(
                sa.or_(audit_events.c.key_id == key_id, audit_events.c.target_key_id == key_id)
            )
        rows = [dict(row) for row in conn.execute(statement).mappings()]
    page, more = rows[: query.limit], len(rows) > query.limit
    return success(
        AuditEventsPage(
            events=[AuditEvent.model_validate(jsonable(row)) for row in page],
            next_cursor=_encode_cursor(page[-1]["seq"]) if more else None,
        )
    )


def _encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": seq}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        before = json.loads(base64.urlsafe_b64decode(padded))["before"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        before = None
    if not isinstance(before, int):
        raise ApiError(
            422,
            "validation_error",
            "query parameters are invalid",
            details=[{"field": "cursor", "message": "not a cursor from this API"}],
        )
    return before
