"""ielts-question-service: IELTS Speaking questions through Azure OpenAI, run in production."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .config import Settings, load_settings
from .process_kind import in_cli_command
from .version import __version__

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["__version__", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: settings, logging, errors, database, keys, limits, API, metrics."""
    if in_cli_command():  # before anything imports prometheus_client
        # A command such as `flask keys list` serves no metrics: it must not write into a
        # server's multiprocess metrics directory, which may not even exist in a fresh shell.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # Imported here, not with the package: the gunicorn master imports the package for its
    # settings and log handlers and has no use for Flask (memory it would keep for good).
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import (
        ai,
        api,
        audit,
        auth,
        budget_metrics,
        db,
        dev_key,
        errors,
        limits,
        metrics,
    )
    from .audit import verify_metrics
    from .hooks import register_request_hooks
    from .in_flight import CountedRequests
    from .keys import KeyStore
    from .logging_setup import configure_logging
    from .redaction import Redactor
    from .sentry import init_sentry
    from .state import bind_settings
    from .validation import MAX_CONTENT_LENGTH

    settings = settings or load_settings()
    redactor = Redactor(settings.secret_values())  # one for the log lines and Sentry events
    configure_logging(settings, __version__, redactor)
    init_sentry(settings, __version__, redactor)

    app = Flask(__name__, static_folder=None)  # files are served by the docs blueprint
    bind_settings(app, settings)
    app.config.update(DEBUG=settings.DEBUG, MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Trailing and doubled slashes are accepted as they are, never redirected.
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.wsgi_app = CountedRequests(app.wsgi_app)  # type: ignore[method-assign]
    if settings.TRUSTED_PROXY_HOPS:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.TRUSTED_PROXY_HOPS, x_proto=settings.TRUSTED_PROXY_HOPS
        )

    errors.init_app(app)
    db.init_app(app, settings)
    auth.init_app(app, KeyStore(db.get_engine_of(app), settings.KEY_CACHE_TTL_S))
    limits.init_app(app, settings)
    ai.init_app(app, settings)
    audit.init_app(app)
    api.init_app(app)
    metrics.init_app(app, settings, __version__)
    verify_metrics.init_metrics(app, db.get_engine_of(app))
    budget_metrics.init_app(app)
    dev_key.init_app(app, settings)
    # After the extensions (limits, metrics) have registered theirs: see hooks.py.
    register_request_hooks(app, settings)
    if settings.ENABLE_TEST_ROUTES:
        from .api import fault_routes

        app.register_blueprint(fault_routes.bp)
    return app
