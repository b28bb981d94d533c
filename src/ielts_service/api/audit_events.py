"""GET /v1/audit/events: audit records for auditors, newest first, cursor-paginated."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response

from ..audit.chain import jsonable
from ..clock import as_utc
from ..db import get_engine
from ..schemas import AuditEvent, AuditEventsPage, AuditQuery
from ..tables import api_keys, audit_events
from .cursor import decode_cursor, encode_cursor
from .envelope import success
from .routes import Routes

bp = Blueprint("audit_events", __name__)
auditors = Routes(bp, scope="audit:read", token_budget=True)


@auditors.get("/v1/audit/events", response=AuditEventsPage)
def list_audit_events(query: AuditQuery) -> Response:
    """List audit records, newest first.

    Filters: since, until (ISO 8601), key (id or name), outcome; cursor pagination.
    """
    statement = sa.select(audit_events).order_by(audit_events.c.seq.desc()).limit(query.limit + 1)
    if query.cursor:
        statement = statement.where(
            audit_events.c.seq < decode_cursor(query.cursor, {"before": int})["before"]
        )
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
            next_cursor=encode_cursor({"before": page[-1]["seq"]}) if more else None,
        )
    )
