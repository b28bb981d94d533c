"""The service's request hooks wrap the extensions' ones, in the order hooks.py declares."""

from __future__ import annotations

from flask import Flask

from ielts_service import access_log, limits, request_id


def test_the_id_comes_first_and_the_access_line_last(app: Flask) -> None:
    before = app.before_request_funcs[None]
    assert before[:2] == [request_id.assign, access_log.start]
    # Flask runs after_request and teardown hooks last-registered first.
    after = list(reversed(app.after_request_funcs[None]))
    assert after[-2:] == [request_id.echo, access_log.write_line]
    ours = after.index(limits.record_fallback)
    assert ours >= 1  # the extensions' own (the limiter's headers) run before ours
    assert after[ours + 1] == limits.fix_retry_after
    assert list(reversed(app.teardown_request_funcs[None]))[-1] == request_id.forget


def test_an_error_response_still_gets_its_id_and_one_access_line(app: Flask) -> None:
    response = app.test_client().get("/no-such-path", headers={"X-Request-ID": "rid-hooks"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "rid-hooks"
    assert response.get_json()["request_id"] == "rid-hooks"
