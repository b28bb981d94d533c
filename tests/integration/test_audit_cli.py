"""`flask audit export|prune|verify`, and tampering that verify must catch, on both databases."""

from __future__ import annotations

import csv
import io
import json
import threading
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ielts_service.audit import store
from ielts_service.audit.chain import jsonable, record_hash
from ielts_service.clock import now
from ielts_service.db import get_engine_of
from ielts_service.tables import audit_chain, audit_events
from tests.fakes.audit_records import sample_record
from tests.helpers import audit_cli, audit_rows, both_backends

COLUMNS = [column.name for column in audit_events.columns]


pytestmark = both_backends


def append(app: Flask, count: int, batch: int = 1) -> list[dict[str, Any]]:
    """Append `count` sample records, `batch` per transaction."""
    stored: list[dict[str, Any]] = []
    while len(stored) < count:
        size = min(batch, count - len(stored))
        stored += store.append(get_engine_of(app), [sample_record() for _ in range(size)])
    return stored


def append_aged(app: Flask, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    """Append `count` records dated 100 days ago."""
    with monkeypatch.context() as patched:
        patched.setattr(store, "now", lambda: now() - timedelta(days=100))
        append(app, count)


def update(app: Flask, statement: sa.Executable) -> None:
    with get_engine_of(app).begin() as conn:
        conn.execute(statement)


def parse_csv_value(name: str, text: str) -> Any:
    """A CSV cell back to the JSON value the export started from."""
    if text == "":
        return None
    python_type = audit_events.c[name].type.python_type
    if python_type is bool:
        return text == "True"
    if python_type is object:  # JSON (the change of an operator record)
        return json.loads(text)
    return python_type(text) if python_type in (int, float) else text


def parse_export(text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return [
        {name: parse_csv_value(name, value) for name, value in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trips(app: Flask, fmt: str) -> None:
    append(app, 5)
    result = audit_cli(app, "export", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    exported = parse_export(result.stdout, fmt)
    assert exported == [jsonable(row) for row in audit_rows(app)]
    # An auditor can check every exported record without the database.
    assert all(record_hash(row) == row["hash"] for row in exported)
    assert "exported 5 records" in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_time_range_to_a_file(app: Flask, tmp_path: Path, fmt: str) -> None:
    stored = append(app, 6)
    since, until = stored[2]["time"], stored[4]["time"]
    output = tmp_path / f"audit.{fmt}"
    result = audit_cli(
        app,
        "export",
        "--format",
        fmt,
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        "--output",
        str(output),
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    exported = parse_export(output.read_text(encoding="utf-8"), fmt)
    assert [row["seq"] for row in exported] == [3, 4]


def test_export_streams_in_bounded_memory(app: Flask, tmp_path: Path) -> None:
    append(app, 6000, batch=1000)
    output = tmp_path / "audit.jsonl"
    tracemalloc.start()
    try:
        result = audit_cli(app, "export", "--output", str(output))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0
    assert len(output.read_text(encoding="utf-8").splitlines()) == 6000
    # Holding every row at once would take more than the whole export's size.
    assert peak < output.stat().st_size / 2


def test_verify_passes_on_an_intact_chain(app: Flask) -> None:
    append(app, 4, batch=2)
    result = audit_cli(app, "verify")
    assert result.exit_code == 0
    assert "4 records verified" in result.stdout


def test_verify_sees_one_snapshot_while_records_are_appended(app: Flask) -> None:
    append(app, 300, batch=100)
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.is_set():
            append(app, 1)

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        exit_codes = [audit_cli(app, "verify").exit_code for _ in range(5)]
    finally:
        stop.set()
        writer.join()
    assert exit_codes == [0] * 5


def test_verify_passes_on_an_empty_trail(app: Flask) -> None:
    assert audit_cli(app, "verify").exit_code == 0


def test_prune_then_verify_starts_from_the_stored_anchor(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_aged(app, monkeypatch, 3)
    kept = append(app, 2)
    result = audit_cli(app, "prune", "--older-than", "90d")
    assert result.exit_code == 0
    assert "pruned 3 records older than 90d (#1..#3)" in result.stdout
    # The prune itself is the newest record.
    rows = audit_rows(app, kind=None)
    assert [(row["seq"], row["kind"]) for row in rows] == [
        (4, "model_call"),
        (5, "model_call"),
        (6, "audit_pruned"),
    ]
    assert rows[-1]["change"]["anchor_seq"] == {"old": 1, "new": 4}
    state = store.chain_state(get_engine_of(app))
    assert (state["anchor_seq"], state["anchor_hash"]) == (4, kept[0]["prev_hash"])
    verified = audit_cli(app, "verify", "--json")
    assert verified.exit_code == 0
    assert json.loads(verified.stdout)["checked"] == 3


def test_prune_dry_run_says_what_would_go_and_changes_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_aged(app, monkeypatch, 3)
    append(app, 2)
    before = audit_rows(app, kind=None)
    result = audit_cli(app, "prune", "--older-than", "90d", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == "would prune 3 records older than 90d (#1..#3)\n"
    assert audit_rows(app, kind=None) == before
    assert store.chain_state(get_engine_of(app))["anchor_seq"] == 1


def test_prune_of_everything_keeps_the_chain_going(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_aged(app, monkeypatch, 3)
    assert audit_cli(app, "prune", "--older-than", "90d").exit_code == 0
    assert audit_cli(app, "verify").exit_code == 0
    append(app, 2)
    assert audit_cli(app, "verify").exit_code == 0


def test_tampering_with_the_anchor_after_prune_is_caught(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_aged(app, monkeypatch, 2)
    append(app, 2)
    audit_cli(app, "prune", "--older-than", "90d")
    update(app, audit_chain.update().values(anchor_hash="f" * 64))
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert "#3" in result.stdout


FILLED = {bool: True, int: 7, float: 1.5, str: "x", object: {"x": {"old": None, "new": 1}}}


def tampered(value: Any, column: str) -> Any:
    """A different value of the same type and length (a value of the column's type for null)."""
    if value is None:
        return FILLED[audit_events.c[column].type.python_type]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 100
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    # The first character: ULIDs made in one millisecond differ only at the end, so changing
    # the last one could recreate a neighbour's id.
    return ("1" if value[0] != "1" else "2") + value[1:]


@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("column", COLUMNS)
def test_changing_any_field_of_any_record_is_caught(app: Flask, column: str, position: int) -> None:
    rows = append(app, 3)
    target = rows[position]
    changed = tampered(target[column], column)
    update(
        app,
        audit_events.update().where(audit_events.c.seq == target["seq"]).values({column: changed}),
    )
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    if column == "seq":  # the record moved: the first link that no longer holds is named
        assert "BROKEN at record #" in result.stdout
    else:
        record_id = changed if column == "id" else target["id"]
        assert f"BROKEN at record #{target['seq']} (id {record_id})" in result.stdout


@pytest.mark.parametrize(
    ("position", "named", "why"),
    [(0, "#2", "sequence gap"), (1, "#3", "sequence gap"), (2, "#3", "chain head")],
)
def test_deleting_a_record_is_caught(app: Flask, position: int, named: str, why: str) -> None:
    rows = append(app, 3)
    update(app, audit_events.delete().where(audit_events.c.seq == rows[position]["seq"]))
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record {named}" in result.stdout
    assert why in result.stdout


def test_reordering_two_records_is_caught(app: Flask) -> None:
    _first, second, _ = append(app, 3)
    for seq, new_seq in ((1, -1), (2, 1), (-1, 2)):
        update(app, audit_events.update().where(audit_events.c.seq == seq).values(seq=new_seq))
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert f"BROKEN at record #1 (id {second['id']}): prev_hash" in result.stdout
