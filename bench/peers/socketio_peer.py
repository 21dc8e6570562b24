"""What many teams would build instead of the hub: python-socketio, pydantic and SQLite.

The same observable work as the hub on the benchmarks' traffic, done the plain way:

- every ``publish`` is validated with pydantic (a discriminated union of the event kinds the
  benchmarks send, ``at`` an aware datetime, ids and scores bounded);
- valid events are committed to SQLite (WAL, ``synchronous=FULL``, as the hub) in groups: one
  writer thread takes whatever publishes are waiting, inserts them in one transaction, commits;
- only then does the sender get its ``ack`` (``accepted`` ids, ``rejected`` reasons), and the
  committed events are fanned out: one ``message`` per patient of the group to ``patient:{id}``
  and a ``mood_crisis`` alert to ``therapist:{id}`` for each check-in scored 1 or 2.

It does NOT authenticate, keep any state per patient (no progress, streaks, risk), coalesce,
replay history, deduplicate ids across restarts beyond the primary key, or rate-limit. A
patient's therapist follows the benchmarks' rule (``p{n}`` belongs to ``t{n % 50}``) instead of
a registration. Subscribers name their channel in the query string (``?sub=NAME``).

Run: ``python bench/peers/socketio_peer.py --port N --db PATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import socketio
import uvicorn
import uvloop
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from realtime.serving import serving_config

THERAPISTS = 50
Id = Annotated[str, Field(min_length=1, max_length=128)]


class _Event(BaseModel):
    id: Id
    patient_id: Id
    at: AwareDatetime


class Exercise(_Event):
    kind: Literal["exercise_completed"]
    exercise: Id
    duration_s: float = Field(ge=0)


class MoodCheckin(_Event):
    kind: Literal["mood_checkin"]
    score: int = Field(ge=1, le=10)


class Marker(_Event):
    kind: Literal["progress_marker"]
    marker: Id


class SessionStarted(_Event):
    kind: Literal["session_started"]
    session_id: Id
    mood_pre: int | None = Field(default=None, ge=1, le=10)


class SessionEnded(_Event):
    kind: Literal["session_ended"]
    session_id: Id
    status: Literal["completed", "cancelled", "no_show"]
    duration_s: float = Field(ge=0)
    mood_post: int | None = Field(default=None, ge=1, le=10)
    topics: list[Id] = []


class GoalUpdated(_Event):
    kind: Literal["goal_updated"]
    goal_id: Id
    status: Id


Event = Annotated[
    Exercise | MoodCheckin | Marker | SessionStarted | SessionEnded | GoalUpdated,
    Field(discriminator="kind"),
]
EVENT = TypeAdapter(Event)


class Publish(BaseModel):
    type: Literal["publish"]
    events: list[dict[str, Any]] = Field(max_length=500)


sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)
pending: list[tuple[str, list[Any], list[dict[str, str]]]] = []
wake = asyncio.Event()
db: sqlite3.Connection | None = None


def open_db(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, patient_id TEXT, at TEXT,"
        " kind TEXT, body TEXT)"
    )
    return connection


def commit(rows: list[tuple[str, str, str, str, str]]) -> None:
    assert db is not None
    db.execute("BEGIN")
    db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)", rows)
    db.execute("COMMIT")


@sio.event  # type: ignore[untyped-decorator]
async def connect(sid: str, environ: dict[str, Any], auth: object = None) -> None:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    for channel in query.get("sub", []):
        await sio.enter_room(sid, channel)


@sio.on("publish")  # type: ignore[untyped-decorator]
async def publish(sid: str, data: Any) -> None:
    try:
        frame = Publish.model_validate(data)
    except ValidationError as error:
        await sio.emit("error", {"type": "error", "detail": str(error)[:200]}, to=sid)
        return
    accepted: list[Any] = []
    rejected: list[dict[str, str]] = []
    for raw in frame.events:
        try:
            accepted.append(EVENT.validate_python(raw))
        except ValidationError as error:
            rejected.append({"id": str(raw.get("id")), "reason": str(error)[:200]})
    pending.append((sid, accepted, rejected))
    wake.set()


async def committer() -> None:
    while True:
        await wake.wait()
        wake.clear()
        group = pending[:]
        pending.clear()
        rows = [
            (e.id, e.patient_id, e.at.isoformat(), e.kind, e.model_dump_json())
            for _, events, _ in group
            for e in events
        ]
        await asyncio.to_thread(commit, rows)
        patients: dict[str, Any] = {}
        for sid, events, rejected in group:
            ack = {"type": "ack", "accepted": [e.id for e in events], "rejected": rejected}
            await sio.emit("ack", ack, to=sid)
            for event in events:
                patients[event.patient_id] = event
                if isinstance(event, MoodCheckin) and event.score <= 2:
                    therapist = f"therapist:t{int(event.patient_id[1:]) % THERAPISTS}"
                    alert = {"code": "mood_crisis", "severity": "high"}
                    alert |= {"patient_id": event.patient_id, "at": event.at.isoformat()}
                    message = {"type": "message", "channel": therapist, "data": alert}
                    await sio.emit("message", message, room=therapist)
        for patient, event in patients.items():
            channel = f"patient:{patient}"
            data = {"kind": event.kind, "at": event.at.isoformat()}
            message = {"type": "message", "channel": channel, "data": data}
            await sio.emit("message", message, room=channel)


async def serve(port: int, path: str) -> None:
    global db
    db = open_db(path)
    task = asyncio.create_task(committer())
    config = serving_config(socketio.ASGIApp(sio), port, lifespan="off")
    try:
        await uvicorn.Server(config).serve()
    finally:
        task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description="python-socketio peer of the hub")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.port, args.db))


if __name__ == "__main__":
    main()
