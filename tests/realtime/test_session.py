"""The connection's protocol policy, fed frames and instants: no socket, no event loop."""

from __future__ import annotations

from dataclasses import replace

import pytest

from realtime.errors import BadFrame, Forbidden, TooLarge, UnknownChannel, UnknownPatient
from realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_SLOW_CONSUMER,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY_BAD_FRAMES,
    Celebrated,
    ChannelName,
    Publish,
    Since,
    Subscribe,
    Unsubscribe,
    parse_client_frame,
)
from realtime.settings import Limits
from realtime.ws.session import (
    TRANSITIONS,
    Close,
    Send,
    Session,
    State,
    Verdict,
)

# Small figures, so each rule is reached in a few frames.
LIMITS = Limits(max_frame_bytes=1000, max_inflight_publishes=2, bad_frame_limit=2)
LIMITS = replace(LIMITS, rate_limit_frames_per_s=10, rate_limit_burst=3, bad_frame_window_s=10)


def session() -> Session:
    return Session(LIMITS)


def test_each_frame_becomes_the_action_it_asks_for() -> None:
    s = session()
    channel = ChannelName("patient", "p1")
    assert s.frame(parse_client_frame({"type": "publish", "ref": "a", "events": [{}]})) == [
        Publish("a", [{}])
    ]
    subscribe = {"type": "subscribe", "channel": "patient:p1", "since": {"epoch": "e", "offset": 3}}
    assert s.frame(parse_client_frame(subscribe)) == [Subscribe(None, channel, Since("e", 3))]
    unsubscribe = {"type": "unsubscribe", "ref": "u", "channel": "patient:p1"}
    assert s.frame(parse_client_frame(unsubscribe)) == [Unsubscribe("u", channel)]
    celebrated = {"type": "celebrated", "milestone_ids": ["m1"]}
    assert s.frame(parse_client_frame(celebrated)) == [Celebrated(None, ["m1"])]
    assert s.frame(parse_client_frame({"type": "ping", "ref": "p"})) == [
        Send({"type": "pong", "ref": "p"})
    ]


def test_a_frame_over_the_size_limit_closes_with_1009() -> None:
    s = session()
    assert s.receive(1000, now=0.0) is Verdict.READ
    assert s.receive(1001, now=0.0) is Verdict.TOO_LARGE
    [close] = s.too_large()
    assert isinstance(close, Close) and close.code == CLOSE_TOO_LARGE
    assert s.state is State.CLOSING


def test_frames_beyond_the_rate_are_refused_and_the_bucket_refills_with_time() -> None:
    s = session()
    assert [s.receive(10, now=0.0) for _ in range(4)] == [Verdict.READ] * 3 + [Verdict.RATE_LIMITED]
    [answer] = s.rate_limited()
    assert isinstance(answer, Send) and answer.frame["code"] == "rate_limited"
    assert s.receive(10, now=0.1) is Verdict.READ  # 10 a second: one more after 100 ms
    assert s.state is State.OPEN


def test_a_session_idle_since_it_opened_has_its_burst_and_no_more() -> None:
    s = session()  # opened at 0; its bucket is made at the first frame, long after
    assert [s.receive(10, now=500.0) for _ in range(4)] == [Verdict.READ] * 3 + [
        Verdict.RATE_LIMITED
    ]


def test_contract_breaches_beyond_the_window_limit_close_with_4008_after_the_error() -> None:
    s = session()
    for now in (0.0, 1.0):
        assert s.refused(BadFrame("nope"), "r", now) == [
            Send({"type": "error", "code": "bad_frame", "detail": "nope", "ref": "r"})
        ]
    error, close = s.refused(UnknownChannel("no such channel"), None, 2.0)
    assert isinstance(error, Send) and error.frame["code"] == "unknown_channel"
    assert isinstance(close, Close) and close.code == CLOSE_TOO_MANY_BAD_FRAMES and close.flush
    assert s.state is State.CLOSING


def test_old_breaches_leave_the_window() -> None:
    s = session()
    s.refused(TooLarge("too many events"), None, 0.0)
    s.refused(BadFrame("nope"), None, 1.0)
    actions = s.refused(BadFrame("nope"), None, 10.5)  # the first left the window at 10.0
    assert [type(action) for action in actions] == [Send]


def test_refusals_of_rights_never_count_toward_4008() -> None:
    s = session()
    for now in range(10):
        actions = s.refused(Forbidden("not yours"), "r", float(now))
        forbidden = {"type": "error", "code": "forbidden", "detail": "not yours", "ref": "r"}
        assert actions == [Send(forbidden)]
    [answer] = s.refused(UnknownPatient("no patient 'p9'"), None, 10.0)
    assert isinstance(answer, Send) and answer.frame["code"] == "unknown_patient"
    assert s.state is State.OPEN


def test_reading_pauses_while_too_many_publishes_are_unanswered() -> None:
    s = session()
    s.publish_taken()
    assert not s.reading_paused
    s.publish_taken()
    assert s.reading_paused
    assert s.publish_answered() is False
    assert not s.reading_paused
    assert s.publish_answered() is True


def test_a_graceful_close_answers_publishes_first_and_a_slow_consumer_is_not_flushed() -> None:
    graceful = session()
    graceful.publish_taken()
    [close] = graceful.close(CLOSE_GOING_AWAY, "server shutting down")
    assert close == Close(CLOSE_GOING_AWAY, "server shutting down", answer_first=True, flush=True)

    slow = session()
    slow.publish_taken()
    [close] = slow.close(CLOSE_SLOW_CONSUMER, "slow consumer")
    assert close == Close(CLOSE_SLOW_CONSUMER, "slow consumer", answer_first=False, flush=False)


def test_close_happens_once_and_nothing_is_read_after_it() -> None:
    s = session()
    assert s.close(CLOSE_GOING_AWAY)
    assert s.close(CLOSE_TOO_MANY_BAD_FRAMES) == []
    assert s.close_code == CLOSE_GOING_AWAY
    assert s.receive(10, now=0.0) is Verdict.IGNORE
    s.closed()
    assert s.state is State.CLOSED
    assert s.close(CLOSE_GOING_AWAY) == []


@pytest.mark.parametrize("start", list(State))
def test_the_socket_going_away_ends_every_state_for_good(start: State) -> None:
    s = session()
    s.state = start
    s.closed()
    assert s.state is State.CLOSED
    assert not any(source is State.CLOSED for source, _ in TRANSITIONS)
