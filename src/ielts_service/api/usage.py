"""GET /v1/admin/usage (every key, from the audit trail) and GET /v1/usage (the caller's own)."""

from __future__ import annotations

from flask import Blueprint, Response

from .. import keys, limits, usage
from ..auth import ANY_SCOPE
from ..clock import now
from ..db import get_engine
from ..schemas import OwnUsage, UsageQuery, UsageReport
from ..state import current_key, get_settings
from .envelope import success
from .routes import Routes

bp = Blueprint("usage", __name__)
admin = Routes(bp, scope="admin")
any_key = Routes(bp, scope=ANY_SCOPE)


@admin.get("/v1/admin/usage", response=UsageReport)
def usage_report(query: UsageQuery) -> Response:
    """Usage by key (and UTC day), from the audit trail.

    Default range: the 7 days before `until` (or now).
    """
    engine = get_engine()
    key_id = None
    if query.key:
        try:
            key_id = keys.get_key(engine, query.key).id
        except keys.KeyOperationError:
            key_id = query.key  # a deleted key's records are still reported by id
    rows = usage.usage(
        engine,
        since=query.since or (query.until or now()) - usage.DEFAULT_WINDOW,
        until=query.until,
        key_id=key_id,
        group_by=query.group_by,
    )
    return success(UsageReport.model_validate({"usage": rows}))


@any_key.get("/v1/usage", response=OwnUsage)
def own_usage() -> Response:
    """The calling key's limits, token budget and requests today.

    Any valid key may call it; it never spends the token budget.
    """
    key = current_key()
    assert key is not None  # require_scope admitted it
    settings = get_settings()
    return success(
        OwnUsage(
            key_id=key.id,
            rate_limit=key.rate_limit or settings.RATE_LIMIT_DEFAULT,
            token_budget=limits.budget_state(key),
            requests_today=usage.today(get_engine(), key.id, now())["requests"],
        )
    )
