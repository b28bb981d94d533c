"""Rate limits and token budgets (flask-limiter): per client IP before auth, per key, per day.

Order within a protected request: the per-IP limit for unauthenticated traffic is tested
before any key lookup and charged only when the key is refused; then the key's request
limit and its daily token budget (decorators evaluated after auth).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache, wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, WindowStats, parse, parse_many

from . import metrics
from .config import Settings
from .errors import ApiError, error_response
from .keys import ApiKey, token_budget
from .limit_store import PREFIX as MEMO_REDIS_PREFIX
from .limit_store import read_ahead
from .memory_limits import SCHEME as SWEPT_MEMORY_SCHEME
from .schemas import TokenBudgetState
from .state import current_key, get_settings, request_state

ViewT = TypeVar("ViewT", bound=Callable[..., Any])

TOKEN_BUDGET_SCOPE = "token-budget"  # noqa: S105 (a limit scope, not a secret)
PER_KEY_SCOPE = "per-key"
UNAUTHENTICATED_SCOPE = "unauthenticated"

log = logging.getLogger(__name__)


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _key_id() -> str:
    key = current_key()
    return key.id if key else ""


limiter = Limiter(
    key_func=_client_ip,
    headers_enabled=True,
    swallow_errors=True,
    in_memory_fallback_enabled=True,
    strategy="fixed-window",
)


@limiter.request_filter
def _no_key_yet() -> bool:
    """flask-limiter's limits here are all per key (the per-IP allowance for unauthenticated
    traffic is tested before auth, below): a request without a key has none to count. This
    spares the extension's own before-request pass, which runs before auth, its work."""
    return current_key() is None


# Limit strings come from settings and keys, a handful per process: each is parsed once.
_parsed_many = lru_cache(maxsize=1024)(parse_many)
_parsed = lru_cache(maxsize=1024)(parse)


def _unauthenticated_limits() -> list[RateLimitItem]:
    return _parsed_many(get_settings().RATE_LIMIT_UNAUTHENTICATED)


def refuse_if_ip_exhausted() -> None:
    """429 before any key lookup when this client IP has spent its unauthenticated allowance."""
    for item in _unauthenticated_limits():
        try:
            allowed = limiter.limiter.test(item, UNAUTHENTICATED_SCOPE, _client_ip())
            stats = (
                None
                if allowed
                else limiter.limiter.get_window_stats(item, UNAUTHENTICATED_SCOPE, _client_ip())
            )
        except Exception:  # the store failing must not lock clients out: limiter falls back
            log.debug("unauthenticated limit not checked: rate-limit store error")
            return
        if stats is not None:
            metrics.RATE_LIMIT_REJECTIONS.labels(limit="unauthenticated").inc()
            retry_after = max(1, int(stats.reset_time - time.time()))
            raise ApiError(
                429,
                "rate_limited",
                f"too many unauthenticated requests: {item}",
                headers={
                    "Retry-After": str(retry_after),
                    "X-RateLimit-Limit": str(item.amount),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(stats.reset_time)),
                },
            )


def charge_refused_credentials() -> None:
    """Count a refused key against the client IP's unauthenticated allowance."""
    for item in _unauthenticated_limits():
        try:
            limiter.limiter.hit(item, UNAUTHENTICATED_SCOPE, _client_ip())
        except Exception:
            log.debug("refused credentials not counted: rate-limit store error")
            return


def _key_request_limit() -> str:
    key = current_key()
    default: str = get_settings().RATE_LIMIT_DEFAULT
    return key.rate_limit if key and key.rate_limit else default


def key_budget(key: ApiKey) -> RateLimitItem | None:
    """The key's daily token budget as the limiter counts it, or None without a budget."""
    budget = token_budget(key, get_settings().TOKEN_BUDGET_DAILY)
    return _parsed(f"{budget}/day") if budget else None


def _budget_window(key: ApiKey) -> tuple[RateLimitItem, WindowStats] | None:
    item = key_budget(key)
    if item is None:
        return None
    return item, limiter.limiter.get_window_stats(item, *_budget_identifiers(key))


def _budget_identifiers(key: ApiKey) -> tuple[str, str]:
    """The arguments flask-limiter counts a key's budget under: the key id, then the scope."""
    return key.id, TOKEN_BUDGET_SCOPE


def budget_state(key: ApiKey) -> TokenBudgetState | None:
    """The key's budget window as the limiter's store holds it (None: no budget)."""
    found = _budget_window(key)
    if found is None:
        return None
    item, window = found
    started = window.reset_time > time.time()
    return TokenBudgetState(
        limit=item.amount,
        used=item.amount - window.remaining,
        remaining=window.remaining,
        resets_at=datetime.fromtimestamp(window.reset_time, UTC).isoformat().replace("+00:00", "Z")
        if started
        else None,
    )


def add_budget_headers(response: Response) -> Response:
    """X-TokenBudget-* on every answer to a key with a budget, after this answer's charge."""
    key = current_key()
    try:
        found = _budget_window(key) if key else None
    except Exception:  # the store failing must not fail the answer: no headers then
        log.debug("token budget headers left out: rate-limit store error")
        return response
    if found is not None:
        item, window = found
        response.headers["X-TokenBudget-Limit"] = str(item.amount)
        response.headers["X-TokenBudget-Remaining"] = str(window.remaining)
        reset_in = max(0, math.ceil(window.reset_time - time.time()))
        response.headers["X-TokenBudget-Reset"] = str(reset_in)
    return response


def _key_token_budget() -> str:
    key = current_key()
    item = key_budget(key) if key else None
    return f"{item.amount}/day" if item else "1/day"  # without a budget the limit is exempt


def _no_token_budget() -> bool:
    key = current_key()
    return key is None or key_budget(key) is None


def _tokens_used() -> int:
    # Before the view (the test) this is 1: refused once usage has reached the budget.
    # After it, the tokens the answer really used.
    used = request_state().tokens_used
    return 1 if used is None else used


def per_key_rate_limit(view: ViewT) -> ViewT:
    """Decorate an authenticated view with its key's request limit (no token budget)."""
    limited = limiter.shared_limit(
        _key_request_limit, scope=PER_KEY_SCOPE, key_func=_key_id, override_defaults=False
    )(view)
    return cast(ViewT, limited)


def per_key_limits(view: ViewT) -> ViewT:
    """Decorate an authenticated view with its key's request limit and daily token budget."""
    with_budget = limiter.shared_limit(
        _key_token_budget,
        scope=TOKEN_BUDGET_SCOPE,
        key_func=_key_id,
        cost=_tokens_used,
        deduct_when=lambda response: response.status_code == 200,
        exempt_when=_no_token_budget,
        override_defaults=False,
    )(view)
    limited = per_key_rate_limit(with_budget)

    @wraps(limited)
    def reading_budget_ahead(*args: Any, **kwargs: Any) -> Any:
        key = current_key()
        if key and (item := key_budget(key)):  # its test follows the request limit's hit
            read_ahead(item.key_for(*_budget_identifiers(key)))
        return limited(*args, **kwargs)

    return cast(ViewT, reading_budget_ahead)


def _on_exceeded(exc: RateLimitExceeded) -> Response:
    if exc.limit.scope == TOKEN_BUDGET_SCOPE:
        metrics.RATE_LIMIT_REJECTIONS.labels(limit="token_budget").inc()
        return error_response(429, "token_budget_exceeded", "the key's daily token budget is spent")
    metrics.RATE_LIMIT_REJECTIONS.labels(limit="key").inc()
    return error_response(429, "rate_limited", f"rate limit exceeded: {exc.description}")


def fix_retry_after(response: Response) -> Response:
    """flask-limiter sets Retry-After on every response, from its own windows.

    Keep its value on its own 429s, restore the one an error chose (an upstream's, the
    circuit's), and drop it where it means nothing.
    """
    chosen = request_state().retry_after
    if chosen is not None:
        response.headers["Retry-After"] = chosen
    elif response.status_code != 429:
        response.headers.pop("Retry-After", None)
    return response


def record_fallback(response: Response) -> Response:
    """Mirror in the gauge whether this process limits from its in-memory fallback.

    Read from the limiter's state, not from its log lines: the recovery line is INFO and
    would never arrive with LOG_LEVEL=WARNING.
    """
    metrics.RATE_LIMIT_FALLBACK.set(int(limiter.limiter.storage is not limiter.storage))
    return response


def readiness_problem() -> str | None:
    try:
        if limiter.storage.check():
            return None
    except Exception as exc:  # any storage error means "not usable"
        return f"rate-limit store unreachable: {type(exc).__name__}"
    return "rate-limit store unreachable"


def storage_uri(configured: str) -> str:
    """The storage URI handed to flask-limiter: memory:// and redis:// become the service's
    own stores (memory_limits.py, limit_store.py); anything else passes through."""
    if configured.startswith("memory://"):
        return f"{SWEPT_MEMORY_SCHEME}://"
    if configured.startswith(("redis://", "rediss://")):
        return f"{MEMO_REDIS_PREFIX}{configured}"
    return configured


def init_app(app: Flask, settings: Settings) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(settings.RATELIMIT_STORAGE_URI)
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 1}
    if settings.RATELIMIT_STORAGE_URI.startswith("memory://"):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {}
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _on_exceeded)
    metrics.RATE_LIMIT_FALLBACK.set(0)
    if settings.is_production and settings.RATELIMIT_STORAGE_URI.startswith("memory://"):
        log.warning(
            "RATELIMIT_STORAGE_URI is memory://: limits are counted per process "
            "and do not scale past one host; use redis:// in production"
        )
