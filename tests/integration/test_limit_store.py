"""The rate-limit store: each counter asked of Redis once per request, and never remembered
past it; the headers it answers are the ones the limiter counted, on both backends."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from limits import parse
from limits.storage import RedisStorage, storage_from_string

from ielts_service.config import Settings
from ielts_service.limit_store import (
    MemoRedisStorage,
    close_request_memo,
    open_request_memo,
    read_ahead,
)
from ielts_service.limits import (
    PER_KEY_SCOPE,
    TOKEN_BUDGET_SCOPE,
    UNAUTHENTICATED_SCOPE,
    storage_uri,
)
from ielts_service.memory_limits import SweptMemoryStorage
from tests.fakes.azure import FakeAzure
from tests.helpers import both_backends

QUESTION = {"topic": "a memorable trip"}
TOKENS_PER_CALL = 168  # what the fake upstream reports: 120 prompt + 48 completion


def ask(client: FlaskClient, key: str) -> Any:
    return client.post("/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {key}"})


def counts(response: Any) -> tuple[str, str]:
    """X-RateLimit-Remaining and X-TokenBudget-Remaining."""
    assert response.status_code == 200, response.get_json()
    return response.headers["X-RateLimit-Remaining"], response.headers["X-TokenBudget-Remaining"]


def counter_name(limit: str, *identifiers: str) -> str:
    """The Redis key the limiter counts `limit` under for `identifiers`."""
    return f"{RedisStorage.PREFIX}:{parse(limit).key_for(*identifiers)}"


@contextmanager
def redis_commands(redis_url: str, client_name: str) -> Iterator[list[str]]:
    """The commands the clients named `client_name` send within the block, as MONITOR shows them.

    Each is one round trip (the store sends no pipelines); what a script runs is not counted.
    """
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    commands: list[str] = []
    with admin.monitor() as monitor:
        yield commands
        marker = f"ECHO end-{uuid.uuid4().hex}"
        admin.execute_command(marker)
        named = {c["addr"] for c in admin.client_list() if c["name"] == client_name}
        while (seen := monitor.next_command())["command"] != marker:
            if f"{seen['client_address']}:{seen['client_port']}" in named:
                commands.append(seen["command"])
    admin.close()


@pytest.fixture
def overrides(azure_settings: dict[str, Any]) -> dict[str, Any]:
    """The fake Azure upstream reports the token usage a budget counts."""
    return azure_settings


@pytest.fixture
def direct(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the limiter's Redis of its own: another worker, as the limiter sees it."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class TestRoundTrips:
    @pytest.fixture
    def client_name(self) -> str:
        return f"limits-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def overrides(
        self, redis_url: str, client_name: str, azure_settings: dict[str, Any]
    ) -> dict[str, Any]:
        """The limiter's connections carry a name of their own: MONITOR tells them apart."""
        return {**azure_settings, "RATELIMIT_STORAGE_URI": f"{redis_url}?client_name={client_name}"}

    def test_an_answered_question_takes_three_round_trips(
        self,
        ip_client: FlaskClient,
        make_key: Callable[..., str],
        fake_azure: FakeAzure,
        redis_url: str,
        client_name: str,
    ) -> None:
        """The IP's test, the key's hit with the budget's read, the budget's charge: no more."""
        key = make_key()
        assert ask(ip_client, key).status_code == 200  # connects, loads the scripts
        with redis_commands(redis_url, client_name) as commands:
            answered = ask(ip_client, key)
        assert answered.status_code == 200
        assert len(commands) <= 3, commands


@both_backends
def test_each_answer_counts_its_request_and_its_tokens(
    ip_client: FlaskClient, make_key: Callable[..., str], fake_azure: FakeAzure
) -> None:
    key = make_key(rate_limit="5/minute", token_budget=1000)
    answers = [ask(ip_client, key) for _ in range(3)]
    assert [counts(a) for a in answers] == [
        ("4", str(1000 - TOKENS_PER_CALL)),
        ("3", str(1000 - 2 * TOKENS_PER_CALL)),
        ("2", str(1000 - 3 * TOKENS_PER_CALL)),
    ]
    last = answers[-1].headers
    assert (last["X-RateLimit-Limit"], last["X-TokenBudget-Limit"]) == ("5", "1000")
    assert 0 < int(last["X-RateLimit-Reset"]) - time.time() <= 61
    assert 86300 < int(last["X-TokenBudget-Reset"]) <= 86400
    assert "Retry-After" not in last


@both_backends
def test_interleaved_keys_see_their_own_counts(
    ip_client: FlaskClient, make_key: Callable[..., str], fake_azure: FakeAzure
) -> None:
    first = make_key(rate_limit="5/minute", token_budget=1000)
    second = make_key(rate_limit="7/minute", token_budget=2000)
    answers = [counts(ask(ip_client, key)) for key in (first, second, first, second)]
    assert answers == [
        ("4", str(1000 - TOKENS_PER_CALL)),
        ("6", str(2000 - TOKENS_PER_CALL)),
        ("3", str(1000 - 2 * TOKENS_PER_CALL)),
        ("5", str(2000 - 2 * TOKENS_PER_CALL)),
    ]


@pytest.fixture
def on_redis(redis_url: str, azure_settings: dict[str, Any]) -> dict[str, Any]:
    return {**azure_settings, "RATELIMIT_STORAGE_URI": redis_url}


@pytest.mark.usefixtures("fake_azure")
class TestAnotherWorker:
    """What other workers count between two requests is seen by the next one."""

    @pytest.fixture
    def overrides(self, on_redis: dict[str, Any]) -> dict[str, Any]:
        return on_redis

    def test_its_hits_and_charges_are_in_the_next_headers_and_refusal(
        self, ip_client: FlaskClient, make_key: Callable[..., str], direct: redis.Redis
    ) -> None:
        key = make_key(rate_limit="5/minute", token_budget=1000)
        key_id = key[3:15]
        budget = counter_name("1000/day", key_id, TOKEN_BUDGET_SCOPE)
        assert counts(ask(ip_client, key)) == ("4", str(1000 - TOKENS_PER_CALL))
        direct.incrby(counter_name("5/minute", key_id, PER_KEY_SCOPE), 2)
        direct.incrby(budget, 100)
        assert counts(ask(ip_client, key)) == ("1", str(1000 - 2 * TOKENS_PER_CALL - 100))
        direct.set(budget, 1000, keepttl=True)
        refused = ask(ip_client, key)
        assert refused.status_code == 429
        assert refused.get_json()["code"] == "token_budget_exceeded"

    def test_an_ip_it_exhausted_is_refused(
        self,
        ip_client: FlaskClient,
        make_key: Callable[..., str],
        direct: redis.Redis,
        settings: Settings,
    ) -> None:
        key, limit = make_key(), settings.RATE_LIMIT_UNAUTHENTICATED
        ip = ip_client.environ_base["REMOTE_ADDR"]
        assert ask(ip_client, key).status_code == 200
        direct.set(counter_name(limit, UNAUTHENTICATED_SCOPE, ip), parse(limit).amount, ex=60)
        refused = ask(ip_client, key)
        assert refused.status_code == 429
        assert refused.get_json()["code"] == "rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= 60


class TestStorage:
    @pytest.fixture
    def storage(self, redis_url: str) -> MemoRedisStorage:
        storage = storage_from_string(storage_uri(redis_url))
        assert isinstance(storage, MemoRedisStorage)
        return storage

    @pytest.fixture
    def name(self) -> str:
        return f"memo-test/{uuid.uuid4().hex}"

    def test_configured_uris_select_the_stores(self) -> None:
        assert storage_uri("redis://h:6379/0") == "memo+redis://h:6379/0"
        assert storage_uri("rediss://h:6380/1") == "memo+rediss://h:6380/1"
        assert isinstance(storage_from_string(storage_uri("memory://")), SweptMemoryStorage)

    def test_outside_a_request_every_read_asks_redis(
        self, storage: MemoRedisStorage, name: str, direct: redis.Redis
    ) -> None:
        assert storage.incr(name, 60) == 1
        direct.incrby(storage.prefixed_key(name), 5)
        assert storage.get(name) == 6
        assert 58 < storage.get_expiry(name) - time.time() <= 60
        storage.clear(name)

    def test_a_request_remembers_its_counters_until_cleared(
        self, storage: MemoRedisStorage, name: str, direct: redis.Redis
    ) -> None:
        open_request_memo()
        try:
            assert storage.incr(name, 60, amount=3) == 3
            direct.incrby(storage.prefixed_key(name), 5)
            assert (storage.get(name), round(storage.get_expiry(name) - time.time())) == (3, 60)
            storage.clear(name)
            direct.set(storage.prefixed_key(name), 2, ex=30)
            assert (storage.get(name), round(storage.get_expiry(name) - time.time())) == (2, 30)
        finally:
            close_request_memo(None)
            storage.clear(name)
        direct.incrby(storage.prefixed_key(name), 4)
        assert storage.get(name) == 4
        storage.clear(name)

    def test_a_counter_read_ahead_comes_with_the_next_hit(
        self, storage: MemoRedisStorage, name: str, direct: redis.Redis
    ) -> None:
        ahead, unset = f"{name}/ahead", f"{name}/unset"
        direct.set(storage.prefixed_key(ahead), 7, ex=90)
        open_request_memo()
        try:
            read_ahead(ahead, unset)
            assert storage.incr(name, 60) == 1
            direct.incrby(storage.prefixed_key(ahead), 5)  # after the hit: not seen
            assert (storage.get(ahead), round(storage.get_expiry(ahead) - time.time())) == (7, 90)
            assert storage.get(unset) == 0
            assert storage.incr(f"{name}/second", 60) == 1  # read ahead once, not again
            assert storage.get(ahead) == 7
        finally:
            close_request_memo(None)
        assert storage.get(ahead) == 12
        for key in (name, ahead, f"{name}/second"):
            storage.clear(key)
