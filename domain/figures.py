"""The figures insight rules read (``InsightInputs``), each computed on first use."""

from __future__ import annotations

from datetime import datetime

from domain.dropout import dropout_score
from domain.engagement import momentum
from domain.insights import MINDFULNESS_DAYS
from domain.ledger import Ledger
from domain.mood import improving, mood_delta, trend_label
from domain.streaks import current_streak


class Figures:
    """The figures insight rules read (``InsightInputs``), each computed on first use.

    Hand-written lazy properties: ``functools.cached_property`` takes a lock per access in
    Python 3.11, which costs more than the figures checked on the hot path.
    """

    __slots__ = (
        "_ledger",
        "_now",
        "_today",
        "_streak",
        "_momentum",
        "_dropout",
        "_mindful",
        "_mood",
    )

    def __init__(
        self,
        ledger: Ledger,
        today: int | None,
        dropout: float | None = None,
        now: datetime | None = None,
    ) -> None:
        """``today`` (a local day ordinal) or ``now`` to derive it from when a rule needs it."""
        self._ledger = ledger
        self._now = now
        self._today = today
        self._streak: int | None = None
        self._momentum: float | None = None
        self._dropout = dropout
        self._mindful: int | None = None
        self._mood: str | None = None

    @property
    def today(self) -> int:
        # The mood rule never needs "today": a mood event alone skips the zone conversion.
        if self._today is None:
            if self._now is None:
                raise ValueError("Figures needs today or now")
            self._today = self._ledger.clock.today(self._now)
        return self._today

    @property
    def streak_current(self) -> int:
        if self._streak is None:
            self._streak = current_streak(self._ledger.active_days, self.today)
        return self._streak

    @property
    def momentum(self) -> float:
        if self._momentum is None:
            self._momentum = momentum(self._ledger, self.today)
        return self._momentum

    @property
    def dropout_score(self) -> float:
        if self._dropout is None:
            self._dropout = dropout_score(self._ledger, self.today)
        return self._dropout

    @property
    def mindfulness_recent(self) -> int:
        if self._mindful is None:
            today = self.today
            first = today - MINDFULNESS_DAYS + 1
            # Exercises of any kind (the seed's rule): a day's activity less its sessions and
            # check-ins, so no further state is kept.
            days = self._ledger.days
            self._mindful = sum(
                bucket.activity - bucket.sessions - bucket.checkin_n
                for bucket in (days.get(day) for day in range(first, today + 1))
                if bucket is not None
            )
        return self._mindful

    @property
    def mood_trend(self) -> str:
        if self._mood is None:
            self._mood = trend_label(mood_delta(self._ledger))
        return self._mood

    @property
    def mood_improving(self) -> bool:
        # Read by one rule only, at most once per check: no cache needed.
        return improving(self._ledger)
