"""Start-up snapshots of every tracker, so a restart replays only the events after them.

Theory of operation
-------------------
``take`` reads the highest committed event ``seq`` S, waits until every event committed so far
has been applied in memory, then saves each tracker's explicit state
(``PatientProgress.to_state``: builtins only, tagged with the domain's ``STATE_FORMAT``),
yielding to the event loop every few milliseconds so ingest never stalls. A tracker saved later
may already hold events after S; that is harmless, because its state carries the ids it has
seen and replay after S hands it those again, which it ignores. ``restore`` loads the
latest complete snapshot; the caller replays the events after its S.

Format and trust: a part is a pickle of builtins only, read back by an unpickler that refuses
every class and function (so even a part that got past the signature could not run code or
build objects), and every part carries an HMAC-SHA256 under a key derived from the hub's
secret. The snapshot row names its ``format``; only the format this code reads is used, so an
upgrade that changes the layout bumps ``STATE_FORMAT`` instead of misreading old bytes.

A snapshot is a cache of the log while the log is complete: when it cannot be used, the hub
replays the whole log, which gives the same figures. Once retention has purged events it is
the only record of their figures; start-up then refuses rather than replay a partial log
(``Runtime.start``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import logging
import pickle
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from domain.errors import StateFormatError
from domain.patients import Patient
from domain.progress import PatientProgress
from domain.state import STATE_FORMAT
from realtime.service.progress import ProgressService, RestoredTrackers
from storage.store import ProgressStore

PICKLE_PROTOCOL = 5
CHUNK_PATIENTS = 200  # parts per write through the group-commit writer
# ... or fewer once they weigh this much: every publish commits behind (or with) a part write,
# and 200 parts made 9-27 ms transactions that doubled the alert latency during a snapshot.
CHUNK_BYTES = 64 * 1024
# Saving one tracker costs up to ~2 ms (a year of activity: to_state 1.3 ms, pickling 0.6 ms),
# so 200 in a row held the event loop for ~400 ms; yield whenever this much time has passed.
YIELD_AFTER_S = 0.005
_MAC_SIZE = hashlib.sha256().digest_size

log = logging.getLogger("progress_hub.snapshots")


class _BuiltinsOnly(pickle.Unpickler):
    """Reads pickles of builtins; any class or function reference is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a snapshot may hold builtins only, not {module}.{name}")


def load_builtins(data: bytes) -> Any:
    """Unpickle ``data``, refusing every global (classes, functions, reducers)."""
    return _BuiltinsOnly(io.BytesIO(data)).load()


class TrackerSnapshots:
    """Takes and restores snapshots of a service's trackers.

    Args:
        service: whose trackers to snapshot.
        store: where the rows go.
        secret: the hub's signing secret (keys the HMAC).
        clock: the current instant.
    """

    state_format = STATE_FORMAT

    def __init__(
        self,
        service: ProgressService,
        store: ProgressStore,
        secret: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._store = store
        self._key = hashlib.sha256(b"progress-hub snapshot\0" + secret.encode()).digest()
        self._clock = clock
        self._taking = False
        self.events_at_last_snapshot = -1
        self.skip_reason: str | None = None  # why restore() last returned None

    def _seal(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest() + data

    def _unseal(self, body: bytes) -> bytes | None:
        mac, data = body[:_MAC_SIZE], body[_MAC_SIZE:]
        expected = hmac.new(self._key, data, hashlib.sha256).digest()
        return data if hmac.compare_digest(mac, expected) else None

    async def take(self) -> int | None:
        """Snapshot every tracker; returns the ``seq`` it covers, or ``None`` if skipped."""
        rows = self._store.snapshots
        if rows is None or self._taking:
            return None
        self._taking = True
        try:
            accepted = self._service.events_accepted
            through = await rows.max_event_seq()
            await self._service.settle()
            snapshot_id = await rows.begin(
                through, f"format-{STATE_FORMAT}", self._clock(), STATE_FORMAT
            )
            trackers = list(self._service.all_trackers())
            parts: list[tuple[str, bytes]] = []
            weight = 0
            resume_at = time.perf_counter() + YIELD_AFTER_S
            for tracker in trackers:
                state = pickle.dumps(tracker.to_state(), PICKLE_PROTOCOL)
                parts.append((tracker.patient.patient_id, self._seal(state)))
                weight += len(state)
                if len(parts) >= CHUNK_PATIENTS or weight >= CHUNK_BYTES:
                    await rows.add_parts(snapshot_id, parts)
                    parts, weight = [], 0
                elif time.perf_counter() >= resume_at:
                    await asyncio.sleep(0)  # let publishes in between trackers
                else:
                    continue
                resume_at = time.perf_counter() + YIELD_AFTER_S
            await rows.add_parts(snapshot_id, parts)
            await rows.finish(snapshot_id, len(trackers))
            self.events_at_last_snapshot = accepted
            log.info("event=snapshot_taken through_seq=%d patients=%d", through, len(trackers))
            return through
        finally:
            self._taking = False

    def _skip(self, reason: str, **fields: object) -> None:
        self.skip_reason = reason
        extra = " ".join(f"{key}={value}" for key, value in fields.items())
        log.warning("event=snapshot_skipped reason=%r %s", reason, extra)

    async def restore(self, patients: Mapping[str, Patient]) -> RestoredTrackers | None:
        """The trackers of the latest usable snapshot, for the registered ``patients``.

        Anything wrong with a snapshot (another format, a bad signature, a class reference,
        unreadable rows) means ``None`` and :attr:`skip_reason` says why: the caller replays
        the whole log instead, or refuses to start when events were purged.
        """
        self.skip_reason = None
        rows = self._store.snapshots
        if rows is None:
            return None
        try:
            info = await rows.latest()
            if info is None:
                self.skip_reason = "there is none"
                return None
            if info.format != STATE_FORMAT:
                self._skip(
                    f"it holds state format {info.format}, this progress-hub reads {STATE_FORMAT}",
                    seq=info.through_seq,
                )
                return None
            trackers: dict[str, PatientProgress] = {}
            async for patient_id, body in rows.parts(info.id):
                data = self._unseal(body)
                if data is None:
                    self._skip(f"bad signature on patient {patient_id}'s part")
                    return None
                patient = patients.get(patient_id)
                if patient is None:
                    continue  # cannot happen while patients are never deleted; harmless
                state = load_builtins(data)
                tracker = PatientProgress.from_state(patient, state)
                trackers[patient_id] = tracker
        except (StateFormatError, pickle.UnpicklingError) as error:
            self._skip(f"unreadable: {error}")
            return None
        except Exception as error:  # noqa: BLE001 - a snapshot that cannot be read is skipped
            self._skip(f"unreadable: {type(error).__name__}")
            return None
        log.info(
            "event=snapshot_loaded through_seq=%d patients=%d", info.through_seq, len(trackers)
        )
        return RestoredTrackers(trackers, info.through_seq)
