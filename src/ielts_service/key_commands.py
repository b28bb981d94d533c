"""`flask keys …`: create, list, revoke and rotate API keys."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask.cli import AppGroup
from limits import parse_many

from . import keys
from .audit import cli_actor
from .cli_types import DURATION
from .clock import now
from .db import get_engine
from .state import get_settings

keys_cli = AppGroup("keys", help="Manage API keys (secrets are shown once, at creation).")


def _lifetime(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    lifetime = DURATION.convert(value, _param, _ctx)
    if not lifetime:
        raise click.BadParameter("a key's lifetime must be longer than zero")
    return lifetime


def _rate_limit(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_many(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a rate limit such as 120/minute") from None
    return value


def _emit(as_json: bool, payload: dict[str, object], text: str) -> None:
    click.echo(json.dumps(payload) if as_json else text)


@keys_cli.command("create")
@click.argument("name")
@click.option(
    "--scopes",
    default="questions:generate",
    show_default=True,
    help=f"Comma-separated, among: {', '.join(keys.SCOPES)}.",
)
@click.option(
    "--expires-in", callback=_lifetime, help="Lifetime such as 30d or 12h; default: never expires."
)
@click.option("--rate-limit", callback=_rate_limit, help="Overrides RATE_LIMIT_DEFAULT.")
@click.option("--token-budget", type=click.IntRange(min=1), help="Daily token budget.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def create_command(
    name: str,
    scopes: str,
    expires_in: timedelta | None,
    rate_limit: str | None,
    token_budget: int | None,
    as_json: bool,
) -> None:
    """Create a key NAME and print it once."""
    try:
        key, secret = keys.create_key(
            get_engine(),
            name=name,
            scopes=[s.strip() for s in scopes.split(",") if s.strip()],
            expires_in=expires_in,
            rate_limit=rate_limit,
            token_budget=token_budget,
            actor=cli_actor(),
        )
    except keys.KeyOperationError as exc:
        raise click.ClickException(str(exc)) from None
    _emit(
        as_json,
        {"id": key.id, "name": key.name, "key": secret},
        f"created key {key.name} ({key.prefix}); store it now, it is not shown again:\n{secret}",
    )


@keys_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_command(as_json: bool) -> None:
    """List keys (never their secrets)."""
    found = keys.list_keys(get_engine())
    if as_json:
        click.echo(json.dumps([key.public() for key in found]))
        return
    for key in found:
        row = key.public()
        click.echo(
            f"{key.name:<24} {key.prefix:<16} {_state(key):<8} "
            f"scopes={','.join(sorted(key.scopes))} expires={row['expires_at'] or 'never'} "
            f"last_used={row['last_used_at'] or 'never'}"
        )


def _state(key: keys.ApiKey) -> str:
    if key.revoked_at:
        return "revoked"
    return "expired" if key.expires_at and key.expires_at <= now() else "active"


@keys_cli.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke key NAME on every worker and replica (within the key cache TTL)."""
    try:
        key = keys.revoke_key(get_engine(), name, actor=cli_actor())
    except keys.KeyOperationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked key {key.name} ({key.prefix})")


@keys_cli.command("rotate")
@click.argument("name")
@click.option(
    "--grace",
    help="How long the old secret keeps working (0s: not at all); default KEY_ROTATION_GRACE_S.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rotate_command(name: str, grace: str | None, as_json: bool) -> None:
    """Give key NAME a new secret, printed once; the old one works for the grace period."""
    settings = get_settings()
    period = (
        DURATION.convert(grace, None, None)
        if grace
        else timedelta(seconds=settings.KEY_ROTATION_GRACE_S)
    )
    try:
        key, secret = keys.rotate_key(get_engine(), name, period, actor=cli_actor())
    except keys.KeyOperationError as exc:
        raise click.ClickException(str(exc)) from None
    _emit(
        as_json,
        {"id": key.id, "name": key.name, "key": secret},
        f"rotated key {key.name} ({key.prefix}); the old secret works until "
        f"{key.previous_valid_until:%Y-%m-%d %H:%M UTC}. New key, shown once:\n{secret}",
    )
