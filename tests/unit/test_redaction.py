"""The redaction used by every log handler and by Sentry's before_send."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from ielts_service.config import Settings
from ielts_service.redaction import _PATTERNS, REDACTED, Redactor, might_hold_secret

KEY_ID = "0123456789ab"
KEY_SECRET = "Zq3-x_9K2mPbT7vW4nY8rL1sD6fH0jA5cE2gU9iO3kM"
API_KEY = f"iq_{KEY_ID}_{KEY_SECRET}"
AZURE_KEY = "azure-secret-key-4f9a1c7e2b"
DSN_PUBLIC, DSN_SECRET = "5d2c0a9f8e7b6a5d4c3b2a1f0e9d8c7b", "b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2"
DSN = f"https://{DSN_PUBLIC}:{DSN_SECRET}@o1.ingest.sentry.io/42"


@pytest.fixture
def redactor(make_settings: Callable[..., Settings]) -> Redactor:
    settings = make_settings(AZURE_OPENAI_API_KEY=AZURE_KEY, SENTRY_DSN=DSN)
    return Redactor(settings.secret_values())


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"key {API_KEY} refused", KEY_SECRET),
        (f"topic=x{API_KEY}", KEY_SECRET),  # glued to a word
        (f"a truncated iq_{KEY_ID}_{KEY_SECRET[:9]}", KEY_SECRET[:9]),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("bearer sometoken123", "sometoken123"),
        ('{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA=="),
        ("Authorization: Token t0k3n-value", "t0k3n-value"),
        ("X-API-Key: plain-header-value", "plain-header-value"),
        ("GET /v1/x?api_key=qs-secret-value&part=2", "qs-secret-value"),
        ("api-key=azure-header-value", "azure-header-value"),
        ("connect postgresql+psycopg://svc:db-password@db:5432/app", "db-password"),
        ("redis://:redis-password@cache:6379/0", "redis-password"),
    ],
)
def test_patterns_remove_the_secret(text: str, secret: str) -> None:
    redacted = Redactor().text(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_api_key_keeps_its_public_id() -> None:
    assert Redactor().text(API_KEY) == f"iq_{KEY_ID}_{REDACTED}"


@pytest.mark.parametrize(
    "secret", [AZURE_KEY, DSN, DSN_PUBLIC, DSN_SECRET], ids=["azure", "dsn", "public", "secret"]
)
def test_configured_values_are_removed_anywhere(redactor: Redactor, secret: str) -> None:
    assert redactor.text(f"upstream said {secret}.") == f"upstream said {REDACTED}."


def test_text_without_secrets_is_unchanged(redactor: Redactor) -> None:
    text = 'POST /v1/questions 200 topic="a memorable trip" prompt_tokens=120 tokens: 7'
    assert redactor.text(text) == text


def test_nested_extra_fields_are_redacted(redactor: Redactor) -> None:
    extra = {
        "audit": {"topic": f"my key is {API_KEY}", "prompt_tokens": 120, "ok": True},
        "headers": {"Authorization": "Bearer xyz", "X-API-Key": "k", "User-Agent": "curl/8"},
        "items": [AZURE_KEY, ("t", DSN_SECRET)],
    }
    assert redactor.value(extra) == {
        "audit": {"topic": f"my key is iq_{KEY_ID}_{REDACTED}", "prompt_tokens": 120, "ok": True},
        "headers": {"Authorization": REDACTED, "X-API-Key": REDACTED, "User-Agent": "curl/8"},
        "items": [REDACTED, ("t", REDACTED)],
    }


def test_flat_fields_are_redacted_field_by_field_only_when_needed(redactor: Redactor) -> None:
    clean = {"key_id": KEY_ID, "route": "/v1/questions", "status": 200, "topic": "a trip"}
    assert redactor.value(clean) == clean
    assert redactor.value({**clean, "topic": f"use {AZURE_KEY}"})["topic"] == f"use {REDACTED}"
    assert redactor.value({**clean, "user_agent": "Bearer abc"})["user_agent"] == (
        f"Bearer {REDACTED}"
    )
    assert redactor.value({**clean, "token": 123456})["token"] == REDACTED
    assert redactor.value({**clean, "password": "hunter2"})["password"] == REDACTED


# Pieces of what the patterns look for, in odd cases and glued to neighbours.
_FRAGMENTS = (
    "IQ_0123456789ab_",
    "iq_0123456789AB_",
    "BEARER ",
    "Basic ",
    "Api-Key=",
    "API_KEY: ",
    "apikey=",
    "AUTHORIZATION:",
    "ToKeN ",
    "Secret=",
    "PASSWORD:",
    "https://",
    "u:p@",
    "TO\u212aEN=",  # KELVIN SIGN: the regexes ignore case the Unicode way
    "value",
    " ",
    '"',
)


def test_the_prefilter_never_skips_text_a_pattern_would_change() -> None:
    combos = itertools.chain.from_iterable(
        itertools.product(_FRAGMENTS, repeat=n) for n in (1, 2, 3)
    )
    changed = [
        text
        for text in map("".join, combos)
        if any(pattern.sub(replacement, text) != text for pattern, replacement in _PATTERNS)
    ]
    assert len(changed) > 1000  # the fragments do reach every pattern
    assert [text for text in changed if not might_hold_secret(text)] == []
    assert not might_hold_secret("Describe a place you visited. You should say: where it is")
    assert not might_hold_secret(f"key_id iq_{KEY_ID} route /v1/questions")
