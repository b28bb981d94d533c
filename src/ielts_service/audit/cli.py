"""`flask audit …`: verify the chain, export records, prune by retention."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from typing import IO

import click
from flask.cli import AppGroup

from ..clock import now
from ..db import get_engine
from ..key_commands import parse_duration
from ..tables import audit_events
from . import retention, store
from .chain import jsonable
from .operator import cli_actor

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")
FIELDS = [column.name for column in audit_events.columns]


@audit_cli.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify_command(as_json: bool) -> None:
    """Check the hash chain; exit 1 naming the first broken record."""
    verdict = store.verify_chain(get_engine())
    if as_json:
        click.echo(json.dumps(verdict.__dict__))
    elif verdict.ok:
        click.echo(
            f"audit chain intact: {verdict.checked} records verified; "
            f"head #{verdict.head_seq} {verdict.head_hash}"
        )
    else:
        named = f" (id {verdict.broken_id})" if verdict.broken_id else ""
        click.echo(
            f"audit chain BROKEN at record #{verdict.broken_seq}{named}: "
            f"{verdict.reason}; {verdict.checked} records before it verified",
        )
    if not verdict.ok:
        sys.exit(1)


def _timestamp(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now().tzinfo)


@audit_cli.command("export")
@click.option("--since", callback=_timestamp, help="ISO 8601, inclusive.")
@click.option("--until", callback=_timestamp, help="ISO 8601, exclusive.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File to write (default: stdout).",
)
def export_command(
    since: datetime | None, until: datetime | None, fmt: str, output: IO[str]
) -> None:
    """Stream records in chain order as JSON lines or CSV (constant memory)."""
    rows = (jsonable(row) for row in store.iter_records(get_engine(), since=since, until=until))
    count = 0
    writer = csv.DictWriter(output, fieldnames=FIELDS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        if writer:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
            )
        else:
            output.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    click.echo(f"exported {count} records", err=True)


@audit_cli.command("prune")
@click.option("--older-than", required=True, help="Retention such as 90d.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def prune_command(older_than: str, dry_run: bool, as_json: bool) -> None:
    """Delete records older than the retention (recorded as `audit_pruned`); the oldest kept
    record anchors the chain."""
    pruned = retention.prune(
        get_engine(), now() - parse_duration(older_than), actor=cli_actor(), dry_run=dry_run
    )
    if as_json:
        click.echo(json.dumps({**pruned.__dict__, "dry_run": dry_run}))
        return
    span = f" (#{pruned.first_seq}..#{pruned.last_seq})" if pruned.deleted else ""
    verb = "would prune" if dry_run else "pruned"
    click.echo(f"{verb} {pruned.deleted} records older than {older_than}{span}")
