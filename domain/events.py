"""Events that session clients stream, as validated, immutable models.

The contract is ``PROTOCOL.md`` section 3. Validation happens once, in one pydantic pass over a
decoded mapping (JSON or msgpack); a rejected event yields :class:`~domain.errors.InvalidEvent`
with a reason per field, so a client learns exactly what to fix.

Extra, unknown fields are ignored rather than rejected: a newer client may send optional fields
this hub does not know yet, and the contract promises such extensions never break anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import CoreSchema, core_schema

from domain.errors import InvalidEvent
from domain.instruments import INSTRUMENTS, item_problems

MAX_ID_LENGTH = 64
MAX_PATIENT_ID_LENGTH = 128
MAX_TAG_LENGTH = 48
MAX_TOPICS_PER_SESSION = 20
TAG_PATTERN = r"^[a-z0-9_./ -]+$"
MAX_MEASURE_ITEMS = 100
"""Bounds the validation of ``items`` before its length is checked against the instrument."""


# Instants a patient's activity can carry: wide enough for any record, narrow enough that the
# instant is a date in every zone (UTC offsets stay within a day), so no day, week or month
# computed from it can leave datetime's range.
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
INSTANT_RANGE = "must lie from 1900-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z"
NOT_RFC_3339 = "must be an RFC 3339 date-time, e.g. 2026-11-21T09:30:00+01:00"


def _parse_instant(value: Any) -> datetime:
    """Accept only RFC 3339 strings with an explicit UTC offset (or an aware datetime)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        if "T" not in value and "t" not in value and " " not in value:
            raise ValueError(NOT_RFC_3339)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(NOT_RFC_3339) from None
    else:
        raise ValueError("must be an RFC 3339 date-time string")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must carry a UTC offset, e.g. +01:00 or Z")
    try:
        in_range = EARLIEST_INSTANT <= parsed < LATEST_INSTANT
    except OverflowError:  # 0001-01-01T00:00+14:00 lies before the first UTC instant
        in_range = False
    if not in_range:
        raise ValueError(INSTANT_RANGE)
    return parsed


def _lower_tag(value: Any) -> Any:
    # Section 3: trimmed, folded to lower case, inner runs of spaces collapsed to one.
    if not isinstance(value, str):
        return value
    return " ".join(part for part in value.lower().split(" ") if part)


def _instant_schema(source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
    # JSON (every WebSocket publish) is parsed by pydantic's own RFC 3339 parser with the offset
    # and the range checked natively: no Python call per instant, the hot path's largest
    # callback. Decoded mappings (msgpack, REST, replay) keep _parse_instant, which also takes
    # datetimes and words every refusal: a JSON frame with any refusal in it is judged again
    # that way (realtime/ws/ingest.py), so pydantic's own wording never reaches a client.
    # The pattern keeps to what _parse_instant takes (pydantic alone would also take a "_"
    # separator, a lowercase "z" or a date alone), so the JSON fast path never accepts an
    # instant the general path refuses (tests/realtime/test_ingest.py).
    native = core_schema.chain_schema(
        [
            core_schema.str_schema(pattern=_INSTANT_PATTERN),
            core_schema.datetime_schema(
                tz_constraint="aware", ge=EARLIEST_INSTANT, lt=LATEST_INSTANT
            ),
        ]
    )
    checked = core_schema.no_info_before_validator_function(
        _parse_instant, core_schema.datetime_schema()
    )
    return core_schema.json_or_python_schema(json_schema=native, python_schema=checked)


_INSTANT_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][^z]*$"


class _InstantSchema:
    __get_pydantic_core_schema__ = staticmethod(_instant_schema)


Instant = Annotated[datetime, _InstantSchema()]
Mood = Annotated[StrictInt, Field(ge=1, le=10)]
Duration = Annotated[float, Field(ge=0, le=7 * 24 * 3600, allow_inf_nan=False, strict=True)]
Tag = Annotated[
    str,
    BeforeValidator(_lower_tag),
    Field(min_length=1, max_length=MAX_TAG_LENGTH, pattern=TAG_PATTERN),
]
EventId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, strict=True)]
PatientId = Annotated[str, Field(min_length=1, max_length=MAX_PATIENT_ID_LENGTH, strict=True)]
RefId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH, strict=True)]


def _unique_topics(topics: tuple[str, ...]) -> tuple[str, ...]:
    # A tag listed twice in one session still means one session about it.
    return tuple(dict.fromkeys(topics))


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)

    id: EventId
    patient_id: PatientId
    at: Instant


class SessionScheduled(_EventBase):
    kind: Literal["session_scheduled"]
    session_id: RefId
    scheduled_for: Instant


class SessionStarted(_EventBase):
    kind: Literal["session_started"]
    session_id: RefId
    mood_pre: Mood | None = None


SessionStatus = Literal["completed", "cancelled", "no_show"]


class SessionEnded(_EventBase):
    kind: Literal["session_ended"]
    session_id: RefId
    status: SessionStatus
    duration_s: Duration
    mood_post: Mood | None = None
    topics: Annotated[
        tuple[Tag, ...], Field(max_length=MAX_TOPICS_PER_SESSION), AfterValidator(_unique_topics)
    ] = ()


class ExerciseCompleted(_EventBase):
    kind: Literal["exercise_completed"]
    session_id: RefId | None = None
    exercise: Tag
    duration_s: Duration


Marker = Literal["SKILL_ACQUIRED", "INSIGHT_GAINED", "GOAL_PROGRESS", "BREAKTHROUGH"]


class ProgressMarker(_EventBase):
    kind: Literal["progress_marker"]
    session_id: RefId | None = None
    marker: Marker


class MoodCheckin(_EventBase):
    kind: Literal["mood_checkin"]
    score: Mood


GoalStatus = Literal["not_started", "in_progress", "completed"]


class GoalUpdated(_EventBase):
    kind: Literal["goal_updated"]
    goal_id: RefId
    status: GoalStatus


ActionItemStatus = Literal["open", "done"]


class ActionItemUpdated(_EventBase):
    kind: Literal["action_item_updated"]
    item_id: RefId
    status: ActionItemStatus


def _known_instrument(name: str) -> str:
    if name not in INSTRUMENTS:
        raise ValueError(f"must be one of {', '.join(INSTRUMENTS)}")
    return name


class MeasureCompleted(_EventBase):
    kind: Literal["measure_completed"]
    session_id: RefId | None = None
    instrument: Annotated[str, Field(strict=True), AfterValidator(_known_instrument)]
    items: Annotated[tuple[StrictInt, ...], Field(max_length=MAX_MEASURE_ITEMS)]

    @field_validator("items")
    @classmethod
    def _answers_the_instrument(
        cls, items: tuple[int, ...], info: ValidationInfo
    ) -> tuple[int, ...]:
        # An unknown instrument is reported on its own field; its items cannot be judged.
        name = info.data.get("instrument")
        if name is not None:
            problems = item_problems(INSTRUMENTS[name], items)
            if problems:
                raise ValueError(", ".join(problems))
        return items


Event = (
    SessionScheduled
    | SessionStarted
    | SessionEnded
    | ExerciseCompleted
    | ProgressMarker
    | MoodCheckin
    | GoalUpdated
    | ActionItemUpdated
    | MeasureCompleted
)
EVENT_KINDS: tuple[str, ...] = (
    "session_scheduled",
    "session_started",
    "session_ended",
    "exercise_completed",
    "progress_marker",
    "mood_checkin",
    "goal_updated",
    "action_item_updated",
    "measure_completed",
)

TaggedEvent = Annotated[Event, Field(discriminator="kind")]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(TaggedEvent)
_EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[TaggedEvent])


def _describe(error: ValidationError) -> str:
    reasons = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"] if not isinstance(part, int))
        # The discriminator adds the kind as the first location part; it is noise to a client.
        parts = [str(p) for p in item["loc"]]
        if parts and parts[0] in EVENT_KINDS:
            location = ".".join(parts[1:])
        if item["type"] == "union_tag_invalid":
            reasons.append(f"kind: must be one of {', '.join(EVENT_KINDS)}")
        elif item["type"] == "union_tag_not_found":
            reasons.append("kind: field required")
        else:
            message = item["msg"].removeprefix("Value error, ")
            reasons.append(f"{location or 'event'}: {message}")
    return "; ".join(reasons)


def parse_event(raw: Any) -> Event:
    """Validate one decoded event.

    Args:
        raw: the event as decoded from JSON or msgpack.

    Returns:
        The immutable, typed event.

    Raises:
        InvalidEvent: with one ``field: reason`` clause per problem.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent("event: must be an object")
    try:
        return _EVENT_ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise InvalidEvent(_describe(error)) from None


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """An event of a batch that failed validation: the id it claimed and why it failed."""

    id: str
    detail: str


def _claimed_id(raw: Any) -> str:
    # A rejected event is reported under the id it claimed, or "" when it had none usable.
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, str):
            return value[:MAX_ID_LENGTH]
    return ""


def parse_events(raws: Sequence[Any]) -> list[Event | RejectedEvent]:
    """Validate a batch, judging each event alone.

    The whole batch goes through pydantic in one call; only when something in it is invalid is
    it validated again event by event, so that each bad event gets its own field-level reasons
    and the good ones still count. Both ways run the same validators, so an event is accepted
    or refused identically either way.
    """
    if all(isinstance(raw, dict) for raw in raws):
        try:
            return list(_EVENTS_ADAPTER.validate_python(raws))
        except ValidationError:
            pass
    parsed: list[Event | RejectedEvent] = []
    for raw in raws:
        try:
            parsed.append(parse_event(raw))
        except InvalidEvent as error:
            parsed.append(RejectedEvent(_claimed_id(raw), str(error)))
    return parsed


def event_to_wire(event: Event) -> dict[str, Any]:
    """The event as the JSON-compatible mapping clients sent (for storage and export)."""
    return event.model_dump(mode="json", exclude_none=True)
