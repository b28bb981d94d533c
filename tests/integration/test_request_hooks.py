"""The service's request hooks wrap the extensions' ones, in the order hooks.py declares."""

from __future__ import annotations

from flask import Flask

from ielts_service import access_log, limits, request_id
from ielts_service.config import Settings
from ielts_service.hooks import service_hooks
from ielts_service.state import request_state


def test_the_id_comes_first_and_the_access_line_last(app: Flask, settings: Settings) -> None:
    hooks = service_hooks(settings)
    assert hooks.before[:2] == [request_id.assign, access_log.start]
    assert hooks.after[-2:] == [request_id.echo, access_log.write_line]
    assert (
        hooks.after.index(limits.fix_retry_after) == hooks.after.index(limits.record_fallback) + 1
    )
    assert hooks.teardown[-1] == request_id.forget
    # Registered as one hook each, around the extensions' ones (the limiter's check and
    # headers, the exporter's timer); Flask runs after_request and teardown hooks
    # last-registered first.
    first = [
        app.before_request_funcs[None][0],
        app.after_request_funcs[None][0],
        app.teardown_request_funcs[None][0],
    ]
    assert [hook.__name__ for hook in first] == ["run_before", "run_after", "run_teardown"]
    assert len(app.before_request_funcs[None]) > 1  # the extensions' own are still there


def test_an_error_response_still_gets_its_id_and_one_access_line(app: Flask) -> None:
    response = app.test_client().get("/no-such-path", headers={"X-Request-ID": "rid-hooks"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "rid-hooks"
    assert response.get_json()["request_id"] == "rid-hooks"


def test_a_request_leaves_no_state_to_the_next_on_its_thread(
    app: Flask, auth: dict[str, str]
) -> None:
    client = app.test_client()
    client.get("/v1/usage", headers={**auth, "X-Request-ID": "rid-first"})
    assert request_state().key is None  # the test client served it on this thread
    assert request_state().request_id is None
    refused = client.get("/v1/usage")
    assert refused.status_code == 401
    assert refused.headers["X-Request-ID"] != "rid-first"
