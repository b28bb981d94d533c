"""The database engine (SQLite by default, PostgreSQL in production) and its migrations."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.engine import Engine

from .config import Settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


def build_engine(settings: Settings) -> Engine:
    """A pooled engine; every thread checks out its own connection."""
    url = sa.make_url(settings.DATABASE_URL)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(
        url,
        pool_size=settings.DATABASE_POOL_SIZE,
        max_overflow=settings.DATABASE_MAX_OVERFLOW,
        pool_pre_ping=True,
        pool_timeout=settings.DATABASE_CONNECT_TIMEOUT_S,
        connect_args={"connect_timeout": settings.DATABASE_CONNECT_TIMEOUT_S},
    )


# SQLite's busy handler for transactions that only read, or begin deferred (CLI commands,
# migrations); a write transaction waits for the lock in Python instead (_begin_immediate).
BUSY_TIMEOUT_MS = 30000


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    )

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (and how).
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
            dbapi_connection.execute(f"PRAGMA {pragma}")
        record.info["busy_timeout_ms"] = BUSY_TIMEOUT_MS  # the driver's `timeout` set it

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        pooled = connection.connection
        if connection.get_execution_options().get("sqlite_immediate"):
            _set_busy_timeout(pooled.dbapi_connection, pooled.info, 0)
            _begin_immediate(pooled.dbapi_connection)
        else:
            _set_busy_timeout(pooled.dbapi_connection, pooled.info, BUSY_TIMEOUT_MS)
            connection.exec_driver_sql("BEGIN")

    return engine


def _set_busy_timeout(dbapi_connection: Any, info: dict[str, Any], ms: int) -> None:
    """Set the connection's busy timeout, unless it already has that one (a statement saved
    on most transactions: a pooled connection mostly serves one kind)."""
    if info.get("busy_timeout_ms") != ms:
        dbapi_connection.execute(f"PRAGMA busy_timeout={ms}")
        info["busy_timeout_ms"] = ms


def _begin_immediate(dbapi_connection: Any, timeout_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """Take SQLite's write lock, waiting in Python between tries (busy timeout 0).

    SQLite's own busy handler sleeps inside the C library: under gevent that would freeze
    every request of the worker while another process holds the lock. `time.sleep` yields
    to the other greenlets (or threads) instead.
    """
    deadline, pause = time.monotonic() + timeout_s, 0.0005
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.01)


def get_engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["db_engine"]
    return engine


def get_engine() -> Engine:
    return get_engine_of(current_app)


def alembic_config(engine: Engine) -> Config:
    # Alembic is imported only to migrate: workers that never do keep it out of memory.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


db_cli = AppGroup("db", help="Database schema migrations.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    upgrade(get_engine(), revision)
    click.echo(f"database upgraded to {revision}")


@db_cli.command("current")
def current_command() -> None:
    """Print the revision the database is at."""
    with get_engine().connect() as conn:
        from alembic.runtime.migration import MigrationContext

        click.echo(MigrationContext.configure(conn).get_current_revision() or "none")


def readiness_problem() -> str | None:
    """None when the database answers, else the reason."""
    try:
        with get_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
        return f"database unreachable: {type(cause).__name__}"
    return None


def init_app(app: Flask, settings: Settings) -> None:
    engine = build_engine(settings)
    app.extensions["db_engine"] = engine
    app.cli.add_command(db_cli)
    if settings.is_production and engine.dialect.name == "sqlite":
        log.warning(
            "DATABASE_URL is SQLite: keys and audit records stay on this host and "
            "do not scale past one host; use PostgreSQL in production"
        )
    if settings.auto_migrate:
        upgrade(engine)
