"""The SQLite schema and its forward migrations.

The version lives in ``PRAGMA user_version``. Each migration moves the file up one version
inside one transaction; start-up runs the missing ones in order. A file whose version is
higher than :data:`SCHEMA_VERSION` was written by newer code and is refused, never guessed at.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from storage.errors import SchemaTooNew

MIGRATIONS: tuple[str, ...] = (
    # 1: the event log, patients, and per-patient marks the events cannot rebuild.
    """
    CREATE TABLE patients (
        patient_id   TEXT PRIMARY KEY,
        therapist_id TEXT NOT NULL,
        zone_history TEXT NOT NULL,
        updated_at   TEXT NOT NULL
    );
    CREATE INDEX patients_by_therapist ON patients (therapist_id);
    CREATE TABLE events (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        patient_id  TEXT NOT NULL,
        kind        TEXT NOT NULL,
        at          TEXT NOT NULL,
        received_at TEXT NOT NULL,
        body        TEXT NOT NULL
    );
    CREATE INDEX events_by_patient ON events (patient_id, seq);
    CREATE TABLE marks (
        patient_id TEXT PRIMARY KEY,
        body       TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 2: who read which patient's data (clinics must be able to show it), and every alert
    # raised, for effectiveness reports (alerts are effects, not events, so replay cannot
    # rebuild them).
    """
    CREATE TABLE audit (
        seq        INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        role       TEXT NOT NULL,
        sub        TEXT NOT NULL,
        action     TEXT NOT NULL,
        patient_id TEXT,
        scope      TEXT
    );
    CREATE INDEX audit_by_patient ON audit (patient_id, seq);
    CREATE TABLE alerts (
        seq          INTEGER PRIMARY KEY,
        patient_id   TEXT NOT NULL,
        therapist_id TEXT NOT NULL,
        code         TEXT NOT NULL,
        severity     TEXT NOT NULL,
        detail       TEXT NOT NULL,
        raised_at    TEXT NOT NULL
    );
    CREATE INDEX alerts_by_patient ON alerts (patient_id, raised_at);
    """,
    # 3: start-up snapshots: every tracker as of an event seq, so a restart replays only the
    # events after it. A snapshot counts once ``complete`` is set.
    """
    CREATE TABLE snapshots (
        id            INTEGER PRIMARY KEY,
        taken_at      TEXT NOT NULL,
        through_seq   INTEGER NOT NULL,
        state_version TEXT NOT NULL,
        patients      INTEGER NOT NULL DEFAULT 0,
        complete      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE snapshot_parts (
        snapshot_id INTEGER NOT NULL,
        patient_id  TEXT NOT NULL,
        body        BLOB NOT NULL,
        PRIMARY KEY (snapshot_id, patient_id)
    );
    """,
    # 4: drop an index nothing reads (per-patient reads never happened: start-up replays the
    # log in seq order); keeping it cost every insert a second B-tree write, 40% of the
    # writer's SQLite time.
    """
    DROP INDEX events_by_patient;
    """,
    # 5: retention. Snapshots name the explicit state format they hold (0: the old pickled
    # trackers, never read again); the ids of purged events stay, so a republished one still
    # answers "duplicate"; one row counts what was purged, so start-up knows the log is no
    # longer complete on its own.
    """
    ALTER TABLE snapshots ADD COLUMN format INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE purged_ids (id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE retention (
        id                 INTEGER PRIMARY KEY CHECK (id = 1),
        purged_events      INTEGER NOT NULL,
        purged_through_seq INTEGER NOT NULL,
        last_purge_at      TEXT
    );
    INSERT INTO retention (id, purged_events, purged_through_seq) VALUES (1, 0, 0);
    """,
    # 6: alerts as an inbox (PROTOCOL.md section 7). Each alert names the event that raised it
    # and is stored in that event's transaction; (event_id, code) is unique, so an alert can
    # never be stored twice for one event (time-driven alerts have no event: NULLs differ).
    # Alerts from before this version keep their rows, open, with ids from their seq. The
    # outbox holds webhook deliveries, written in the same transaction as what they announce.
    """
    ALTER TABLE alerts ADD COLUMN alert_id TEXT;
    ALTER TABLE alerts ADD COLUMN event_id TEXT;
    ALTER TABLE alerts ADD COLUMN event_at TEXT;
    ALTER TABLE alerts ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
    ALTER TABLE alerts ADD COLUMN acknowledged_by TEXT;
    ALTER TABLE alerts ADD COLUMN acknowledged_at TEXT;
    ALTER TABLE alerts ADD COLUMN resolved_at TEXT;
    ALTER TABLE alerts ADD COLUMN note TEXT;
    ALTER TABLE alerts ADD COLUMN escalations INTEGER NOT NULL DEFAULT 0;
    UPDATE alerts SET alert_id = 'al_' || seq WHERE alert_id IS NULL;
    CREATE UNIQUE INDEX alerts_by_id ON alerts (alert_id);
    CREATE UNIQUE INDEX alerts_once_per_event ON alerts (event_id, code);
    CREATE INDEX alerts_by_state ON alerts (state, seq);
    CREATE TABLE webhook_outbox (
        delivery_id     TEXT PRIMARY KEY,
        url             TEXT NOT NULL,
        body            TEXT NOT NULL,
        queued_at       TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def refuse_newer(version: int, path: Path) -> None:
    """Raise :class:`SchemaTooNew` when the file's ``version`` is beyond this code's.

    Raises:
        SchemaTooNew: the file was written by a newer progress-hub.
    """
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"database {path} has schema version {version}, newer than this "
            f"progress-hub understands ({SCHEMA_VERSION}); upgrade progress-hub"
        )


async def migrate(connection: aiosqlite.Connection, path: Path) -> None:
    """Run the migrations the file at ``path`` is missing, each in its own transaction.

    Raises:
        SchemaTooNew: the file was written by a newer progress-hub.
    """
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = int(row[0]) if row else 0
    refuse_newer(version, path)
    for number in range(version, SCHEMA_VERSION):
        await connection.executescript(
            f"BEGIN; {MIGRATIONS[number]} PRAGMA user_version = {number + 1}; COMMIT;"
        )
