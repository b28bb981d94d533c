"""`flask audit …`: verify the chain, sign checkpoints, export records, prune by retention."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import IO

import click
from flask.cli import AppGroup

from ..cli_types import DURATION
from ..clock import now
from ..db import get_engine
from ..state import get_settings
from ..tables import audit_events
from . import AUDIT_CLI_HELP, checkpoints, retention, store, verification
from .chain import Verdict, jsonable
from .operator import cli_actor
from .progress import progress_bar

audit_cli = AppGroup("audit", help=AUDIT_CLI_HELP)
FIELDS = [column.name for column in audit_events.columns]


@audit_cli.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.File("r"),
    help="Also check the chain against this checkpoint (as `audit checkpoint` printed it).",
)
@click.option(
    "--from-seq",
    type=click.IntRange(min=1),
    help="Verify records N..head only, trusting the link record N holds.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Verify from the newest checkpoint a successful --record run already covered.",
)
@click.option("--record", is_flag=True, help="Store the outcome (read by the verify metrics).")
def verify_command(
    as_json: bool,
    checkpoint_file: IO[str] | None,
    from_seq: int | None,
    incremental: bool,
    record: bool,
) -> None:
    """Check the hash chain and the signed checkpoints; exit 1 naming the first broken record."""
    if from_seq is not None and incremental:
        raise click.UsageError("--from-seq and --incremental are two ways to pick the start")
    settings = get_settings()
    try:
        public = (
            checkpoints.load_verify_key(settings.AUDIT_VERIFY_KEY_FILE)
            if settings.AUDIT_VERIFY_KEY_FILE
            else None
        )
        extra = [checkpoints.parse(checkpoint_file.read())] if checkpoint_file else []
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    with progress_bar("verify", quiet=as_json) as progress:
        verdict = verification.verify(
            get_engine(),
            public,
            extra=extra,
            from_seq=from_seq,
            incremental=incremental,
            progress=progress,
        )
    if record:
        verification.record(get_engine(), verdict)
    _report(verdict, as_json)
    if not verdict.ok:
        sys.exit(1)


def _report(verdict: Verdict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(verdict.__dict__))
    elif verdict.ok:
        click.echo(
            f"audit chain intact: {verdict.checked} records verified from #{verdict.from_seq}; "
            f"head #{verdict.head_seq} {verdict.head_hash}"
        )
    else:
        named = f" (id {verdict.broken_id})" if verdict.broken_id else ""
        where = f" at record #{verdict.broken_seq}" if verdict.broken_seq is not None else ""
        click.echo(
            f"audit chain BROKEN{where}{named}: "
            f"{verdict.reason}; {verdict.checked} records before it verified",
        )


@audit_cli.command("keygen")
@click.option(
    "--signing-key", type=click.Path(dir_okay=False), help="Default: AUDIT_SIGNING_KEY_FILE."
)
@click.option(
    "--verify-key", type=click.Path(dir_okay=False), help="Default: AUDIT_VERIFY_KEY_FILE."
)
def keygen_command(signing_key: str | None, verify_key: str | None) -> None:
    """Make an Ed25519 key pair for checkpoints (keep the private key outside the database)."""
    settings = get_settings()
    signing = signing_key or settings.AUDIT_SIGNING_KEY_FILE
    verify = verify_key or settings.AUDIT_VERIFY_KEY_FILE
    if not signing or not verify:
        raise click.UsageError("give --signing-key and --verify-key (or set AUDIT_*_KEY_FILE)")
    try:
        key_id = checkpoints.keygen(Path(signing), Path(verify))
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key pair {key_id}: signing key {signing} (private), verify key {verify}")


@audit_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the chain head (seq, hash, time), store it, and print it as JSON to keep elsewhere."""
    path = get_settings().AUDIT_SIGNING_KEY_FILE
    if not path:
        raise click.ClickException("AUDIT_SIGNING_KEY_FILE is not set")
    try:
        checkpoint = checkpoints.sign_head(get_engine(), checkpoints.load_signing_key(path))
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(checkpoint.as_json()))


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
    """Stream records of every kind in chain order as JSON lines or CSV (constant memory)."""
    count = 0
    writer = csv.DictWriter(output, fieldnames=FIELDS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    with progress_bar("export", quiet=False) as progress:
        records = store.iter_records(get_engine(), since=since, until=until, progress=progress)
        for record in records:
            row = jsonable(record)
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
    with progress_bar("prune", quiet=as_json or dry_run) as progress:
        pruned = retention.prune(
            get_engine(),
            now() - DURATION.convert(older_than, None, None),
            actor=cli_actor(),
            dry_run=dry_run,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps({**pruned.__dict__, "dry_run": dry_run}))
        return
    span = f" (#{pruned.first_seq}..#{pruned.last_seq})" if pruned.deleted else ""
    verb = "would prune" if dry_run else "pruned"
    click.echo(f"{verb} {pruned.deleted} records older than {older_than}{span}")
