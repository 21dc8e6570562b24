"""Simulated patients for demos and load: what each kind of patient does, as wire events.

Four personas, chosen in turn:

- ``regular``: sessions every few days, daily exercises and check-ins, skills acquired;
- ``fading``: engaged until two weeks ago, then silent but for cancelled sessions and a no-show,
  so the hub's dropout risk climbs and a ``dropout_risk_high`` alert follows;
- ``recovering``: weekly sessions, mood rising, and a PHQ-9 each week whose total falls
  (``measure_completed``, ``PROTOCOL.md`` section 8: a hub without measures rejects these);
- ``in_crisis``: mood falling, then check-ins at 1 or 2, each raising a ``mood_crisis`` alert.

Everything is drawn from a seeded ``random.Random``, so one seed gives one practice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

Persona = Literal["regular", "fading", "recovering", "in_crisis"]
PERSONAS: Final[tuple[Persona, ...]] = ("regular", "fading", "recovering", "in_crisis")
ZONES: Final = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo")
TOPICS: Final = ("anxiety", "work-stress", "sleep", "relationships", "self-esteem", "grief")
EXERCISES: Final = ("mindfulness/breathing", "cbt/thought-record", "mindfulness/body-scan")
HISTORY_DAYS: Final = 21
# Six weeks for the fading patient: four of sessions every other day, then two of silence.
FADING_HISTORY_DAYS: Final = 42
FADING_SILENT_DAYS: Final = 14
# A PHQ-9 per week for the recovering persona: 18 (moderately severe) down to 6 (mild).
PHQ9_TOTALS: Final = (18, 15, 11, 8, 6)


@dataclass
class SimulatedPatient:
    patient_id: str
    persona: Persona
    timezone: str
    rng: random.Random
    sequence: int = 0
    sessions: int = 0
    measures: int = 0
    live_crisis_sent: float = field(default=-1e9)

    def next_id(self, kind: str) -> str:
        self.sequence += 1
        return f"{self.patient_id}-{kind[:2]}{self.sequence}"

    def event(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "id": self.next_id(kind),
            "kind": kind,
            "patient_id": self.patient_id,
            "at": at.astimezone(UTC).isoformat(timespec="seconds"),
            **fields,
        }

    def local(self, day: datetime, hour: int, minute: int = 0) -> datetime:
        zone = ZoneInfo(self.timezone)
        local_day = day.astimezone(zone)
        return local_day.replace(hour=hour, minute=minute, second=0, microsecond=0)

    def session(
        self, end: datetime, mood_pre: int, mood_post: int, minutes: int | None = None
    ) -> list[dict[str, Any]]:
        self.sessions += 1
        session_id = f"{self.patient_id}-s{self.sessions}"
        minutes = minutes or self.rng.randint(40, 55)
        start = end - timedelta(minutes=minutes)
        topics = self.rng.sample(TOPICS, 2)
        return [
            self.event("session_started", start, session_id=session_id, mood_pre=mood_pre),
            self.event(
                "session_ended",
                end,
                session_id=session_id,
                status="completed",
                duration_s=minutes * 60,
                mood_post=mood_post,
                topics=topics,
            ),
        ]

    def missed(self, at: datetime, status: str) -> dict[str, Any]:
        self.sessions += 1
        session_id = f"{self.patient_id}-s{self.sessions}"
        return self.event("session_ended", at, session_id=session_id, status=status, duration_s=0)

    def exercise(self, at: datetime) -> dict[str, Any]:
        return self.event(
            "exercise_completed",
            at,
            exercise=self.rng.choice(EXERCISES),
            duration_s=self.rng.randint(5, 20) * 60,
        )

    def phq9(self, at: datetime, total: int) -> dict[str, Any]:
        """A PHQ-9 whose items add up to ``total``, item 9 (self-harm) always 0."""
        items = [0] * 9
        for _ in range(total):
            candidates = [i for i in range(8) if items[i] < 3]
            items[self.rng.choice(candidates)] += 1
        self.measures += 1
        return self.event("measure_completed", at, instrument="PHQ-9", items=items)

    # -- the last three weeks ----------------------------------------------------------------

    def history(self, now: datetime) -> list[dict[str, Any]]:
        """Events of the last ``HISTORY_DAYS`` days, in time order."""
        events: list[dict[str, Any]] = []
        rng = self.rng
        days = FADING_HISTORY_DAYS if self.persona == "fading" else HISTORY_DAYS
        for back in range(days, 0, -1):
            day = now - timedelta(days=back)
            progress = (days - back) / days  # 0 at the start, 1 yesterday
            hour = rng.choice((8, 12, 18, 19, 20))
            if self.persona == "regular":
                if back % 3 == 0:
                    events += self.session(self.local(day, hour, 50), 5, 7)
                events.append(self.exercise(self.local(day, 7, rng.randint(0, 59))))
                events.append(self.checkin(self.local(day, 21), rng.randint(5, 8)))
                if back % 4 == 0:
                    events.append(
                        self.event(
                            "progress_marker", self.local(day, hour, 55), marker="SKILL_ACQUIRED"
                        )
                    )
            elif self.persona == "fading":
                if back > FADING_SILENT_DAYS:
                    mood = 7 - round(3 * progress)
                    if back % 2 == 0:  # the last sessions get shorter and leave them lower
                        short = back <= FADING_SILENT_DAYS + 6
                        events += self.session(
                            self.local(day, hour, 50),
                            mood,
                            mood - 1 if short else mood + 1,
                            rng.randint(15, 25) if short else None,
                        )
                    events.append(self.checkin(self.local(day, 21), mood))
                elif back in (12, 10, 8, 6, 3):
                    status = "no_show" if back == 3 else "cancelled"
                    events.append(self.missed(self.local(day, hour), status))
            elif self.persona == "recovering":
                mood = 3 + round(4 * progress)
                if back % 7 == 0:
                    events += self.session(self.local(day, hour, 50), mood, mood + 2)
                    week = (HISTORY_DAYS - back) // 7
                    events.append(self.phq9(self.local(day, hour, 55), PHQ9_TOTALS[week]))
                if back % 2 == 0:
                    events.append(self.checkin(self.local(day, 21), min(10, mood)))
                    events.append(self.exercise(self.local(day, 8)))
            else:  # in_crisis
                mood = max(3, 6 - round(3 * progress))
                if back % 4 == 0:
                    events += self.session(self.local(day, hour, 50), mood, mood + 1)
                events.append(self.checkin(self.local(day, 22), mood))
        return events

    def checkin(self, at: datetime, score: int) -> dict[str, Any]:
        return self.event("mood_checkin", at, score=score)

    # -- now ---------------------------------------------------------------------------------

    def live(self, now: datetime, elapsed_s: float) -> list[dict[str, Any]]:
        """What this patient does next, happening now (or, now and then, arriving late)."""
        rng = self.rng
        late = rng.random() < 0.1  # an app that was offline: yesterday's event arrives now
        at = now - timedelta(hours=rng.randint(20, 30)) if late else now
        if self.persona == "in_crisis" and elapsed_s - self.live_crisis_sent > 60:
            self.live_crisis_sent = elapsed_s
            return [self.checkin(now, rng.choice((1, 2)))]
        if self.persona == "fading":
            return []  # silent: the dropout risk does the talking
        if self.persona == "recovering" and rng.random() < 0.15:
            return [self.phq9(at, PHQ9_TOTALS[-1] - rng.randint(0, 2))]
        roll = rng.random()
        if roll < 0.3:
            mood = rng.randint(5, 7) if self.persona != "in_crisis" else rng.randint(3, 4)
            return self.session(at, mood, min(10, mood + rng.randint(0, 2)))
        if roll < 0.6:
            return [self.exercise(at)]
        if roll < 0.8:
            low = 3 if self.persona == "in_crisis" else 5
            return [self.checkin(at, rng.randint(low, low + 3))]
        return [
            self.event(
                "progress_marker", at, marker=rng.choice(("SKILL_ACQUIRED", "INSIGHT_GAINED"))
            )
        ]


def practice(therapist_id: str, patients: int, seed: int) -> list[SimulatedPatient]:
    """``patients`` simulated patients of ``therapist_id``, personas in turn."""
    rng = random.Random(seed)
    return [
        SimulatedPatient(
            patient_id=f"{therapist_id}-p{n + 1:02d}",
            persona=PERSONAS[n % len(PERSONAS)],
            timezone=ZONES[n % len(ZONES)],
            rng=random.Random(rng.getrandbits(64)),
        )
        for n in range(patients)
    ]
