"""Start-up snapshots of every tracker, so a restart replays only the events after them.

Theory of operation
-------------------
``take`` reads the highest committed event ``seq`` S, waits until every event committed so far
has been applied in memory, then pickles the trackers a chunk at a time, yielding to the event
loop between chunks so ingest never stalls. A tracker pickled later may already hold events
after S; that is harmless, because replay after S hands it those again and a tracker ignores
an event id it has seen. ``restore`` loads the latest complete snapshot; the caller replays
the events after its S.

A snapshot is a cache, never the truth: it is used only when it was written by the same domain
code (``state_version`` is a digest of ``domain/``'s source) and every part carries an HMAC
under the hub's secret, so a file edited by anyone without the secret is never unpickled.
Otherwise the hub replays the whole log, which always gives the same figures.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
from collections.abc import Callable
from datetime import datetime
from functools import cache
from importlib import resources

from domain.progress import PatientProgress
from realtime.service import ProgressService
from storage.store import ProgressStore

PICKLE_PROTOCOL = 5
CHUNK_PATIENTS = 200
_MAC_SIZE = hashlib.sha256().digest_size

log = logging.getLogger("progress_hub.snapshots")


@cache
def state_version() -> str:
    """A digest of the domain's source: any change to the model invalidates old snapshots."""
    digest = hashlib.sha256()
    package = resources.files("domain")
    for name in sorted(item.name for item in package.iterdir() if item.name.endswith(".py")):
        digest.update(name.encode())
        digest.update(package.joinpath(name).read_bytes())
    return digest.hexdigest()[:20]


class TrackerSnapshots:
    """Takes and restores snapshots of a service's trackers.

    Args:
        service: whose trackers to snapshot.
        store: where the rows go.
        secret: the hub's signing secret (keys the HMAC).
        clock: the current instant.
    """

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
        # Pickled trackers are not an explicit format: retention never relies on them.
        self.state_format = 0
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
            snapshot_id = await rows.begin(through, state_version(), self._clock())
            trackers = list(self._service.all_trackers())
            for start in range(0, len(trackers), CHUNK_PATIENTS):
                parts = [
                    (tracker.patient.patient_id, self._seal(pickle.dumps(tracker, PICKLE_PROTOCOL)))
                    for tracker in trackers[start : start + CHUNK_PATIENTS]
                ]
                await rows.add_parts(snapshot_id, parts)
            await rows.finish(snapshot_id, len(trackers))
            self.events_at_last_snapshot = accepted
            log.info("event=snapshot_taken through_seq=%d patients=%d", through, len(trackers))
            return through
        finally:
            self._taking = False

    async def restore(self) -> tuple[dict[str, PatientProgress], int] | None:
        """The trackers of the latest usable snapshot and the ``seq`` it covers.

        Anything wrong with a snapshot (another domain version, a bad signature, unreadable
        rows) means ``None``: the caller replays the whole log instead, which is always right.
        """
        rows = self._store.snapshots
        if rows is None:
            return None
        try:
            info = await rows.latest()
            if info is None:
                return None
            if info.state_version != state_version():
                self.skip_reason = "written by other domain code"
                log.info("event=snapshot_skipped reason=domain_changed seq=%d", info.through_seq)
                return None
            trackers: dict[str, PatientProgress] = {}
            async for patient_id, body in rows.parts(info.id):
                data = self._unseal(body)
                if data is None:
                    self.skip_reason = f"bad signature on patient {patient_id}"
                    log.warning(
                        "event=snapshot_skipped reason=bad_signature patient=%s", patient_id
                    )
                    return None
                tracker = pickle.loads(data)  # noqa: S301 - signed with this hub's secret
                if not isinstance(tracker, PatientProgress):
                    self.skip_reason = f"not a tracker for patient {patient_id}"
                    log.warning(
                        "event=snapshot_skipped reason=not_a_tracker patient=%s", patient_id
                    )
                    return None
                trackers[patient_id] = tracker
        except Exception as error:  # noqa: BLE001 - a cache that cannot be read is skipped
            self.skip_reason = f"unreadable: {type(error).__name__}"
            log.warning("event=snapshot_skipped reason=%s", type(error).__name__)
            return None
        log.info(
            "event=snapshot_loaded through_seq=%d patients=%d", info.through_seq, len(trackers)
        )
        return trackers, info.through_seq
