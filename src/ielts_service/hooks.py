"""The service's request hooks, registered in one place, in the order they run.

Flask runs `before_request` hooks in registration order and `after_request` and
`teardown_request` hooks in reverse. The extensions register their own hooks in their
`init_app` (flask-limiter: its check and its X-RateLimit headers; the Prometheus exporter:
its timer). `create_app` calls `register_request_hooks` after them, so the service's hooks
wrap theirs: the request id is known before any of them runs, and the access line is written
after all of them, with the final status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response

from . import access_log, limit_store, limits, request_id, security
from .config import Settings

BeforeHook = Callable[[], None]
AfterHook = Callable[[Response], Response]
TeardownHook = Callable[[BaseException | None], None]


@dataclass(frozen=True)
class ServiceHooks:
    """The service's hooks, each list in the order it runs."""

    before: list[BeforeHook]
    after: list[AfterHook]
    teardown: list[TeardownHook]


def service_hooks(settings: Settings) -> ServiceHooks:
    return ServiceHooks(
        before=[
            request_id.assign,  # first: every later hook, error and log line carries the id
            access_log.start,  # the clock of the access line's duration_ms
            limit_store.open_request_memo,  # the limits' counters, asked of Redis once each
        ],  # then the extensions': the limiter's check, the exporter's timer
        after=[  # after the extensions': the limiter's headers, the exporter's
            limits.add_budget_headers,  # X-TokenBudget-*, once the limiter charged the answer
            limits.record_fallback,  # the fallback gauge, from the limiter's state
            limits.fix_retry_after,  # Retry-After: the limiter's on its 429s, an error's, or none
            *security.response_hooks(settings),  # CORS (when configured), then security headers
            request_id.echo,  # X-Request-ID on every response
            access_log.write_line,  # last: one access line with the final status
        ],
        teardown=[
            limit_store.close_request_memo,  # the next request asks Redis afresh
            request_id.forget,  # last: lines logged after the request do not carry its id
        ],
    )


def register_request_hooks(app: Flask, settings: Settings) -> None:
    """Put the service's hooks around the extensions' ones, in the order `service_hooks` lists.

    Each list is registered as one hook: Flask checks every hook it calls for a coroutine,
    a few microseconds a hook and request.
    """
    hooks = service_hooks(settings)

    def run_before() -> None:
        for hook in hooks.before:
            hook()

    def run_after(response: Response) -> Response:
        for hook in hooks.after:
            response = hook(response)
        return response

    def run_teardown(exc: BaseException | None) -> None:
        for hook in hooks.teardown:
            hook(exc)

    app.before_request_funcs.setdefault(None, []).insert(0, run_before)
    # Flask runs after_request and teardown hooks last-registered first: ours run last.
    app.after_request_funcs.setdefault(None, []).insert(0, run_after)
    app.teardown_request_funcs.setdefault(None, []).insert(0, run_teardown)
