"""Export and import as JSON Lines, on real SQLite files and through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from domain.events import parse_event
from domain.patients import Patient
from storage.backup import import_jsonl
from storage.batch import Batch
from storage.store import SqliteStore
from tests.storage.dumps import exported, imported_twice

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def checkin(event_id: str, patient_id: str = "p1") -> dict[str, object]:
    return {
        "id": event_id,
        "kind": "mood_checkin",
        "patient_id": patient_id,
        "at": "2026-11-20T09:00:00+01:00",
        "score": 6,
    }


async def seeded(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    await store.put_patient(Patient.register("p1", "t1", "Europe/Berlin", NOW), NOW)
    await store.append_events(Batch([parse_event(checkin(f"e{n}")) for n in range(5)], NOW))
    await store.put_marks("p1", {"celebrated": ["m1"]}, NOW)
    return store


async def test_an_export_imports_into_an_empty_file_as_the_same_data(tmp_path: Path) -> None:
    source = await seeded(tmp_path / "a.db")
    count, lines = await exported(source)
    assert count == 7
    original = await source.load_state()
    await source.close()

    async with imported_twice(tmp_path / "b.db", lines) as (target, report, again):
        copied = await target.load_state()
        events = [event async for event in target.events()]
    assert (report.patients, report.events, report.duplicates, report.marks) == (1, 5, 0, 1)
    assert report.errors == []
    assert (again.events, again.duplicates) == (0, 5)  # idempotent
    assert copied.patients == original.patients
    assert copied.marks == original.marks
    assert copied.event_ids == original.event_ids
    assert [event.id for event in events] == [f"e{n}" for n in range(5)]


async def test_bad_lines_are_reported_by_number_and_the_rest_still_counts(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    patient = {
        "record": "patient",
        "patient_id": "p1",
        "therapist_id": "t1",
        "zone_history": [["2026-11-01T00:00:00+00:00", "UTC"]],
    }
    lines = [
        json.dumps(patient),
        "{not json",
        json.dumps({"record": "event", "event": {**checkin("bad"), "score": 11}}),
        json.dumps({"record": "event", "event": checkin("ghost", patient_id="nobody")}),
        json.dumps({"record": "dance"}),
        json.dumps({**patient, "zone_history": [["2026-11-01T00:00:00+00:00", "Mars/Base"]]}),
        json.dumps({"record": "event", "event": checkin("good")}),
    ]
    try:
        report = await import_jsonl(store, lines)
        state = await store.load_state()
    finally:
        await store.close()
    assert report.events == 1 and state.event_ids == {"good"}
    assert [error.split(":")[0] for error in report.errors] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]
    assert "score" in report.errors[1]


async def test_export_reads_beside_a_running_hub(tmp_path: Path) -> None:
    running = await seeded(tmp_path / "hub.db")  # holds the lock, like a live hub
    try:
        result = subprocess.run(
            [sys.executable, "-m", "realtime.cli", "export", "--db", str(tmp_path / "hub.db")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        blocked = subprocess.run(
            [sys.executable, "-m", "realtime.cli", "import", "-", "--db", str(tmp_path / "hub.db")],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        await running.close()
    assert result.returncode == 0, result.stderr
    records = [json.loads(line)["record"] for line in result.stdout.splitlines()]
    assert records == ["patient"] + ["event"] * 5 + ["marks"]
    assert blocked.returncode == 1
    assert "in use by another progress-hub process" in blocked.stderr


def test_cli_round_trip_and_exit_codes(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    patient = {
        "record": "patient",
        "patient_id": "p1",
        "therapist_id": "t1",
        "zone_history": [["2026-11-01T00:00:00+00:00", "UTC"]],
    }
    dump.write_text(
        json.dumps(patient) + "\n" + json.dumps({"record": "event", "event": checkin("e1")}) + "\n"
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "realtime.cli", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    db = str(tmp_path / "hub.db")
    first = cli("import", str(dump), "--db", db)
    assert first.returncode == 0, first.stderr
    assert "imported 1 patients, 1 events (0 duplicates skipped)" in first.stderr
    second = cli("import", str(dump), "--db", db)
    assert "0 events (1 duplicates skipped)" in second.stderr
    exported = cli("export", "--db", db, "--out", str(tmp_path / "out.jsonl"))
    assert exported.returncode == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2
    with dump.open("a") as handle:
        handle.write("garbage\n")
    third = cli("import", str(dump), "--db", db)
    assert third.returncode == 1 and "line 3" in third.stderr
    assert cli("export", "--db", str(tmp_path / "missing.db")).returncode == 1
    assert cli("import", str(tmp_path / "nope.jsonl"), "--db", db).returncode == 1
