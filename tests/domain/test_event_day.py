"""``Ledger.event_day``'s remembered span dates every instant as a zone conversion would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ledger import Ledger
from domain.patients import Patient

# Zones with DST switches (one at midnight: Asia/Beirut until 2023; a 30-minute one:
# Australia/Lord_Howe), a half-hour offset without DST, and the southern hemisphere.
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Asia/Beirut",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "UTC",
]
AROUND = datetime(2022, 1, 1, tzinfo=UTC)


def _switches(zone_name: str) -> list[datetime]:
    """Instants of 2022 just before which the zone's UTC offset changes (to the hour)."""
    zone = ZoneInfo(zone_name)
    hours = [AROUND + timedelta(hours=hour) for hour in range(366 * 24)]
    return [
        later
        for earlier, later in zip(hours, hours[1:], strict=False)
        if earlier.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset()
    ]


SWITCHES = {name: _switches(name) or [AROUND] for name in ZONES}

steps = st.one_of(
    st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000),  # within days, to the microsecond
    st.integers(0, 7_200_000_000),  # forward by up to two hours: across a switch, a midnight
    st.integers(-2_000_000, 2_000_000),  # around the instant before
)


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    offset_days=st.integers(-300, 300),
    moves=st.lists(steps, min_size=1, max_size=60),
)
def test_event_day_equals_the_conversion(
    zone_name: str, offset_days: int, moves: list[int]
) -> None:
    ledger = Ledger(Patient.register("p1", "t1", zone_name, AROUND - timedelta(days=900)))
    zone = ZoneInfo(zone_name)
    instant = AROUND + timedelta(days=offset_days)
    for move in moves:
        instant += timedelta(microseconds=move)
        expected = instant.astimezone(zone).toordinal()
        assert ledger.event_day(instant, instant.timestamp()) == expected, instant


def test_midnight_to_the_microsecond() -> None:
    ledger = Ledger(Patient.register("p1", "t1", "Europe/Berlin", AROUND - timedelta(days=9)))
    midnight = datetime(2022, 6, 2, tzinfo=ZoneInfo("Europe/Berlin"))
    for instant in (
        midnight + timedelta(hours=5),
        midnight - timedelta(microseconds=1),
        midnight,
        midnight + timedelta(days=3, microseconds=-1),
        midnight + timedelta(days=3),
    ):
        expected = instant.astimezone(ZoneInfo("Europe/Berlin")).toordinal()
        assert ledger.event_day(instant, instant.timestamp()) == expected


def test_every_quarter_hour_across_each_switch_of_2022() -> None:
    """Walks 9 days either side of each switch, forward and backward, from several instants."""
    quarter = timedelta(minutes=15, microseconds=1)
    for zone_name, switches in SWITCHES.items():
        zone = ZoneInfo(zone_name)
        for switch in switches:
            for first_hour in (0, 7, 13, 22):
                for step in (quarter, -quarter):
                    ledger = Ledger(Patient.register("p1", "t1", zone_name, AROUND))
                    first = timedelta(days=9, hours=first_hour, microseconds=1)
                    instant = switch - first if step > timedelta() else switch + first
                    while abs(instant - switch) <= first:
                        expected = instant.astimezone(zone).toordinal()
                        assert ledger.event_day(instant, instant.timestamp()) == expected, instant
                        instant += step
