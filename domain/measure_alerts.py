"""Alerts a completed questionnaire raises: a screening item answered, a reliable deterioration.

Two rules (PROTOCOL.md sections 7 and 8), both pure:

- :func:`screening_alerts`: an answer at or above a critical item's threshold (PHQ-9 item 9,
  thoughts of self-harm, answered 1 or more) raises that item's alert at once, whatever the
  total, every time such a questionnaire is applied, as a mood crisis does.
- :func:`watch_deterioration`: ``reliable_deterioration`` (warning) the first time a patient's
  outcome on an instrument is ``deteriorated``, then not again on that instrument until the
  outcome is no longer deteriorated.

What the deterioration rule remembers (:class:`DeteriorationWatch`) is the set of instruments
whose alert has been raised and not re-armed. After every observation that set is exactly the
instruments whose outcome is deteriorated, so it is a function of the scores alone: whatever
order the scores arrive in, and however often one is re-sent, the final watch is
``DeteriorationWatch.of(final outcomes)``, and a restart can rebuild it from the scores instead
of storing it. What depends on arrival order is only how many alerts were raised on the way:
one per run of consecutive observations in which the outcome was deteriorated (so never two
without a recovery in between, and at least one when the final outcome is deteriorated). A
score that arrives late can end or start such a run, as a real deterioration would.

``detail`` holds numbers and fixed words only: never anything a patient wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from domain.alert_codes import ALERT_SEVERITY
from domain.effects import AlertRaised
from domain.errors import StateFormatError
from domain.instruments import Instrument
from domain.outcomes import Outcome, ScoredMeasure

DETERIORATION_CODE: Final = "reliable_deterioration"


def screening_alerts(instrument: Instrument, scored: ScoredMeasure) -> list[AlertRaised]:
    """The alerts a questionnaire's critical items raise, one per item answered at threshold."""
    alerts = []
    for critical in instrument.critical_items:
        answer = scored.items[critical.item - 1]
        if answer >= critical.at_least:
            detail = (
                f"{instrument.name} item {critical.item} ({critical.meaning}) answered {answer} "
                f"({critical.at_least} or more); total {scored.total}"
            )
            alerts.append(
                AlertRaised(critical.code, critical.severity, detail, scored.event_id, scored.at)
            )
    return alerts


@dataclass(frozen=True, slots=True)
class DeteriorationWatch:
    """The instruments whose ``reliable_deterioration`` alert is raised and not yet re-armed."""

    alerted: frozenset[str] = frozenset()

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> DeteriorationWatch:
        """The watch that observing these outcomes leaves, however they were reached."""
        return cls(
            frozenset(
                item.instrument.name for item in outcomes if item.reliable_change == "deteriorated"
            )
        )

    def to_state(self) -> list[str]:
        """Builtins for the tracker's saved state: the alerted instruments, sorted."""
        return sorted(self.alerted)

    @classmethod
    def from_state(cls, state: object) -> DeteriorationWatch:
        """The watch :meth:`to_state` wrote.

        Raises:
            StateFormatError: when ``state`` is not a list of instrument names.
        """
        if not isinstance(state, list) or not all(isinstance(name, str) for name in state):
            raise StateFormatError("the deterioration watch must be a list of instrument names")
        return cls(frozenset(state))


def watch_deterioration(
    watch: DeteriorationWatch, outcome: Outcome
) -> tuple[DeteriorationWatch, AlertRaised | None]:
    """Observe an instrument's outcome after a score on it was added.

    Returns:
        The new watch, and the ``reliable_deterioration`` alert when the outcome has just
        become deteriorated (None otherwise).
    """
    instrument = outcome.instrument
    name = instrument.name
    if outcome.reliable_change != "deteriorated":
        if name in watch.alerted:
            return DeteriorationWatch(watch.alerted - {name}), None
        return watch, None
    if name in watch.alerted:
        return watch, None
    detail = (
        f"{name} rose from {outcome.baseline.total} to {outcome.latest.total} "
        f"(+{outcome.change}; reliable change is {instrument.reliable_change} or more)"
    )
    alert = AlertRaised(DETERIORATION_CODE, ALERT_SEVERITY[DETERIORATION_CODE], detail)
    return DeteriorationWatch(watch.alerted | {name}), alert


def measure_alerts(
    watch: DeteriorationWatch,
    scored: ScoredMeasure,
    outcomes: Mapping[str, Outcome],
    instruments: Mapping[str, Instrument],
) -> tuple[DeteriorationWatch, list[AlertRaised]]:
    """Every alert one newly applied score raises, screening first.

    Args:
        watch: the deterioration watch before this score.
        scored: the score just added.
        outcomes: the patient's outcomes with ``scored`` already included.
        instruments: the catalogue ``scored`` was validated against.
    """
    instrument = instruments[scored.instrument]
    alerts = screening_alerts(instrument, scored)
    watch, deterioration = watch_deterioration(watch, outcomes[scored.instrument])
    if deterioration is not None:
        # Raised by the score just applied (a late score can tip it), which the alert names.
        alerts.append(replace(deterioration, event_id=scored.event_id, event_at=scored.at))
    return watch, alerts
