"""Budget use per key is the same whichever gunicorn worker answers the scrape."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import sqlalchemy as sa
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ielts_service import keys, limits
from tests.helpers import budget_series
from tests.processes import post_question, service_env, start_gunicorn, stop_group


def test_every_gunicorn_worker_reports_the_same_budget_use(
    pg_schema_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = service_env(
        tmp_path,
        DATABASE_URL=pg_schema_url,
        RATELIMIT_STORAGE_URI=redis_url,
        GUNICORN_WORKERS="2",
    )
    instance = start_gunicorn(tmp_path, env)
    try:
        engine = sa.create_engine(pg_schema_url)
        key, secret = keys.create_key(
            engine, name="spender", scopes=["questions:generate"], token_budget=1000
        )
        engine.dispose()
        assert post_question(instance.url, secret) == 200
        # The offline provider spends no tokens: spend 300 in the shared store as a request
        # does (the limiter's counter for this key's budget).
        store = FixedWindowRateLimiter(storage_from_string(redis_url))
        store.hit(parse("1000/day"), key.id, limits.TOKEN_BUDGET_SCOPE, cost=300)
        seen = set()
        for _ in range(12):  # enough scrapes that both workers answer some
            with urllib.request.urlopen(f"{instance.url}/metrics", timeout=10) as response:
                found = budget_series(response.read().decode())
            seen.add(
                (
                    found["ielts_key_token_budget_used_tokens"].get(key.id),
                    found["ielts_key_token_budget_limit_tokens"].get(key.id),
                )
            )
        assert seen == {(300.0, 1000.0)}
    finally:
        stop_group(instance.process)
