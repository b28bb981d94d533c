"""`flask keys …`: create, list, revoke and rotate API keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup

from . import keys, usage
from .audit import cli_actor
from .cli_types import DURATION
from .clock import now, parse_duration
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
            keys.check_rate_limit(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
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
@click.option(
    "--token-budget", type=click.IntRange(min=1, max=2**31 - 1), help="Daily token budget."
)
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


def _clearable(parse: Callable[[str], object], clear_word: str) -> Callable[..., object]:
    """A click callback: `clear_word` means None (clear), anything else goes through `parse`."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> object:
        if value is None:
            return _UNCHANGED
        if value == clear_word:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def _positive_int(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise ValueError(f"{text!r} is not a whole number of tokens above 0")
    return int(text)


def _scope_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


_UNCHANGED = object()


@keys_cli.command("show")
@click.argument("key_ref", metavar="KEY")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show_command(key_ref: str, as_json: bool) -> None:
    """Show key KEY (id or name): scopes, limits, budget, dates, usage today."""
    engine = get_engine()
    key = _find(key_ref)
    today = usage.today(engine, key.id, now())
    if as_json:
        click.echo(json.dumps({**key.public(), "usage_today": today}))
        return
    settings = get_settings()
    row = key.public()
    budget = keys.token_budget(key, settings.TOKEN_BUDGET_DAILY)
    tokens = today["prompt_tokens"] + today["completion_tokens"]
    lines = [
        f"key          {key.name} ({key.prefix}), {_state(key)}",
        f"scopes       {', '.join(sorted(key.scopes))}",
        f"rate limit   {key.rate_limit or settings.RATE_LIMIT_DEFAULT + ' (default)'}",
        f"token budget {_budget_text(key.token_budget, budget)}",
        f"created      {row['created_at']}",
        f"expires      {row['expires_at'] or 'never'}",
        f"revoked      {row['revoked_at'] or 'no'}",
        f"last used    {row['last_used_at'] or 'never'}",
        f"today (UTC)  {today['requests']} requests, {tokens} tokens "
        f"({today['prompt_tokens']} prompt, {today['completion_tokens']} completion), "
        f"{today['errors']} errors",
    ]
    click.echo("\n".join(lines))


def _budget_text(own: int | None, effective: int | None) -> str:
    if effective is None:
        return "none"
    return f"{effective} tokens/day" + ("" if own else " (default)")


@keys_cli.command("update")
@click.argument("key_ref", metavar="KEY")
@click.option(
    "--rate-limit",
    callback=_clearable(keys.check_rate_limit, "default"),
    help="Such as 120/minute; 'default': RATE_LIMIT_DEFAULT.",
)
@click.option(
    "--token-budget",
    callback=_clearable(_positive_int, "default"),
    help="Daily tokens; 'default': TOKEN_BUDGET_DAILY.",
)
@click.option(
    "--expires-in",
    callback=_clearable(parse_duration, "never"),
    help="Lifetime from now such as 30d; 'never'.",
)
@click.option(
    "--scopes",
    callback=_clearable(_scope_list, ""),
    help=f"Comma-separated, among: {', '.join(keys.SCOPES)}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def update_command(key_ref: str, as_json: bool, **options: object) -> None:
    """Change key KEY's limit, budget, expiry or scopes (every worker within the cache TTL)."""
    changes = {name: value for name, value in options.items() if value is not _UNCHANGED}
    if "expires_in" in changes:
        lifetime = changes.pop("expires_in")
        changes["expires_at"] = now() + lifetime if isinstance(lifetime, timedelta) else None
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    key = _find(key_ref)
    try:
        key, changed = keys.update_key(get_engine(), key.id, changes, actor=cli_actor())
    except keys.KeyOperationError as exc:
        raise click.ClickException(str(exc)) from None
    summary = ", ".join(f"{f}: {d['old']} -> {d['new']}" for f, d in changed.items())
    _emit(
        as_json,
        {**key.public(), "change": changed},
        f"updated key {key.name} ({key.prefix}): {summary or 'nothing changed'}",
    )


def _find(key_ref: str) -> keys.ApiKey:
    try:
        return keys.get_key(get_engine(), key_ref)
    except keys.KeyOperationError as exc:
        raise click.ClickException(str(exc)) from None


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 date or time (UTC unless it says otherwise), or a duration ago (7d)."""
    if value is None:
        return None
    try:
        return now() - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an ISO 8601 time nor a duration") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@keys_cli.command("usage")
@click.option("--since", callback=_moment, help="ISO 8601 time or a duration ago; default 7d.")
@click.option("--until", callback=_moment, help="ISO 8601 time or a duration ago; default now.")
@click.option("--key", "key_ref", help="Only this key (id or name).")
@click.option("--group-by", type=click.Choice(["day", "key"]), default="day", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def usage_command(
    since: datetime | None,
    until: datetime | None,
    key_ref: str | None,
    group_by: usage.GroupBy,
    as_json: bool,
) -> None:
    """Requests, tokens and errors by key (and UTC day), from the audit trail."""
    engine = get_engine()
    key_id = _find(key_ref).id if key_ref else None
    rows = usage.usage(
        engine,
        since=since or now() - usage.DEFAULT_WINDOW,
        until=until,
        key_id=key_id,
        group_by=group_by,
    )
    if as_json:
        click.echo(json.dumps({"usage": rows}))
        return
    names = {key.id: key.name for key in keys.list_keys(engine)}
    click.echo(f"{'key':<24} {'day':<10} {'requests':>9} {'prompt':>10} {'completion':>10} errors")
    for row in rows:
        name = names.get(row["key_id"], row["key_id"] or "-")
        click.echo(
            f"{name:<24} {row.get('day', 'all'):<10} {row['requests']:>9} "
            f"{row['prompt_tokens']:>10} {row['completion_tokens']:>10} {row['errors']:>6}"
        )
