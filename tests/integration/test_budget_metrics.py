"""Budget use per key in /metrics: only keys with a budget, capped at METRICS_MAX_KEYS, the rest
summed as key_id="other", on both backends."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from ielts_service import keys, limits
from ielts_service.db import get_engine_of
from ielts_service.tables import api_keys
from tests.helpers import both_backends, budget_series

pytestmark = [both_backends, pytest.mark.settings(METRICS_MAX_KEYS=10, TOKEN_BUDGET_DAILY=0)]


def add_keys(app: Flask, count: int, budget: int | None) -> list[str]:
    """`count` keys in one insert; returns their ids."""
    ids = [uuid.uuid4().hex[:12] for _ in range(count)]
    rows = [
        {
            "id": key_id,
            "name": f"bulk-{key_id}",
            "secret_hash": "0" * 64,
            "scopes": "questions:generate",
            "token_budget": budget,
            "created_at": keys.now(),
        }
        for key_id in ids
    ]
    with get_engine_of(app).begin() as conn:
        conn.execute(sa.insert(api_keys), rows)
    return ids


def charge(app: Flask, key_id: str, tokens: int) -> None:
    """Spend `tokens` of the key's budget as a request does (the limiter's own counter)."""
    with app.app_context():
        key = keys.get_key(get_engine_of(app), key_id)
        item = limits.key_budget(key)
        assert item is not None
        limits.limiter.limiter.hit(item, key.id, limits.TOKEN_BUDGET_SCOPE, cost=tokens)


def test_five_hundred_keys_make_eleven_series_per_family(app: Flask) -> None:
    budgeted = add_keys(app, 500, budget=10_000)
    unbudgeted = add_keys(app, 5, budget=None)
    revoked = budgeted[0]
    with get_engine_of(app).begin() as conn:
        conn.execute(
            api_keys.update().where(api_keys.c.id == revoked).values(revoked_at=keys.now())
        )
    spent = {key_id: 10 * (i + 1) for i, key_id in enumerate(budgeted[1:41])}
    for key_id, tokens in spent.items():
        charge(app, key_id, tokens)
    found = budget_series(app.test_client().get("/metrics").get_data(as_text=True))
    assert all(len(series) == 11 for series in found.values())
    top = sorted(spent, key=spent.__getitem__, reverse=True)[:10]
    assert set(found["ielts_key_token_budget_used_tokens"]) == {*top, "other"}
    assert found["ielts_key_token_budget_used_tokens"][top[0]] == 400
    assert found["ielts_key_token_budget_used_ratio"][top[0]] == pytest.approx(0.04)
    rest = sum(tokens for key_id, tokens in spent.items() if key_id not in top)
    assert found["ielts_key_token_budget_used_tokens"]["other"] == rest
    # 499 live budgeted keys (one is revoked), 10 shown: 489 summed, unbudgeted keys absent.
    assert found["ielts_key_token_budget_limit_tokens"]["other"] == 489 * 10_000
    assert found["ielts_key_token_budget_used_ratio"]["other"] == pytest.approx(rest / 4_890_000)
    assert not set(unbudgeted) & set(found["ielts_key_token_budget_limit_tokens"])
