"""Hostile frames over a real WebSocket: each gets an answer, and the connection goes on."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.frames import Frame, Opcode
from websockets.sync.client import ClientConnection, connect

from realtime.ws import connection
from tests.hubprocess import HubProcess
from tests.realtime.helpers import checkin, register
from tests.support import (
    LiveServer,
    StalledClient,
    settings_for,
    start_server,
    token,
    wait_until,
)

LONE_SURROGATE_PING = '{"type":"ping","ref":"\\ud800"}'


@pytest.fixture
def patient_socket(live_p1: LiveServer) -> Iterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {token('patient', 'p1')}"}
    with connect(live_p1.ws_url, additional_headers=headers) as websocket:
        assert json.loads(websocket.recv(timeout=5))["type"] == "welcome"
        yield websocket


def _reply(websocket: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(websocket.recv(timeout=5))
    return frame


def _still_answers(websocket: ClientConnection) -> None:
    websocket.send('{"type":"ping","ref":"after"}')
    assert _reply(websocket) == {"type": "pong", "ref": "after"}


@pytest.mark.parametrize(
    "frame",
    [
        LONE_SURROGATE_PING,
        '{"type":"ping","ref":"\\udfff\\ud800"}',
        '{"type":"ping","ref":"ok","\\ud800":1}',
        '{"type":"publish","ref":"r","events":[{"id":"\\ud800","kind":"mood_checkin",'
        '"patient_id":"p1","at":"2026-11-20T12:00:00Z","score":5}]}',
        '{"type":"publish","ref":"r","events":[{"id":"a\\udc00","kind":"journal_entry",'
        '"patient_id":"p1","at":"2026-11-20T12:00:00Z","words":3}]}',
    ],
    ids=["ping-ref", "reversed-pair", "key", "event-id", "event-id-tail"],
)
def test_a_lone_surrogate_is_a_bad_frame_and_the_connection_goes_on(
    patient_socket: ClientConnection, frame: str
) -> None:
    patient_socket.send(frame)
    reply = _reply(patient_socket)
    assert reply["type"] == "error" and reply["code"] == "bad_frame", reply
    assert "surrogate" in reply["detail"]
    _still_answers(patient_socket)


def test_a_surrogate_pair_written_as_escapes_is_text(patient_socket: ClientConnection) -> None:
    patient_socket.send('{"type":"ping","ref":"\\ud83d\\ude00"}')
    assert _reply(patient_socket) == {"type": "pong", "ref": "\U0001f600"}


def test_deep_nesting_is_a_bad_frame(patient_socket: ClientConnection) -> None:
    patient_socket.send('{"type":"ping","ref":' + "[" * 100_000 + "]" * 100_000 + "}")
    reply = _reply(patient_socket)
    assert reply["type"] == "error" and reply["code"] == "bad_frame", reply
    _still_answers(patient_socket)


def test_a_text_frame_that_is_not_utf8_closes_1007_with_one_log_line(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub.db", tmp_path / "hub.log")
    try:
        codes = []
        for _ in range(3):
            client = StalledClient(hub.port, token("admin", "ops"))
            assert json.loads(client.read_one())["type"] == "welcome"
            client.send_frame(Frame(Opcode.TEXT, b"\xff\xfe not utf-8"))
            codes.append(client.read_until_closed(10))
            client.close()
        wait_until(lambda: hub.log.read_text().count("event=ws_close") >= 3, 10, "closes logged")
    finally:
        hub.kill()
    assert codes == [1007, 1007, 1007]
    log = hub.log.read_text()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "UTF-8" in line and "ws_invalid_utf8" in line]
    assert len([line for line in log.splitlines() if "UTF-8" in line]) == 3, log


@pytest.fixture(scope="module")
def hub_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    folder = tmp_path_factory.mktemp("hub")
    hub = HubProcess(folder / "hub.db", folder / "hub.log")
    try:
        yield hub
    finally:
        hub.kill()


def _handshake_answer(port: int, size: int, where: str) -> bytes:
    """What the hub sends back (up to its close) to a handshake with a ``size``-byte token."""
    bearer = "e" * size
    target = f"/ws?token={bearer}" if where == "query" else "/ws"
    header = f"Authorization: Bearer {bearer}\r\n" if where == "header" else ""
    request = (
        f"GET {target} HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"{header}\r\n"
    )
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        while True:
            chunk = sock.recv(65536)  # a timeout fails the test: silence is the defect
            if not chunk:
                return answer
            answer += chunk
            if answer.startswith(b"HTTP/1.1 101") and b"\x88" in answer.partition(b"\r\n\r\n")[2]:
                return answer  # the close frame arrived


@pytest.mark.parametrize("size", [8_000, 40_000, 100_000, 1_000_000])
@pytest.mark.parametrize("where", ["header", "query"])
def test_a_handshake_with_a_huge_token_is_answered(
    hub_process: HubProcess, size: int, where: str
) -> None:
    answer = _handshake_answer(hub_process.port, size, where)
    status = answer.partition(b"\r\n")[0]
    if status.startswith(b"HTTP/1.1 101"):
        frames = answer.partition(b"\r\n\r\n")[2]
        assert frames[:1] == b"\x88" and int.from_bytes(frames[2:4], "big") == 4001, answer
    else:
        assert status in (
            b"HTTP/1.1 431 Request Header Fields Too Large",
            b"HTTP/1.1 414 Request-URI Too Long",
        ), answer[:200]


def _tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of ``sock`` (1 established, 7 closed, 8 close-wait)."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def _stall_until_cut_off(live: LiveServer) -> tuple[StalledClient, int]:
    """A therapist client that stops reading while the hub floods its channel."""
    register(live, "p1", "t1")
    slow = StalledClient(live.settings.port, token("therapist", "t1"))
    assert json.loads(slow.read_one())["type"] == "welcome"
    slow.send_text('{"type": "subscribe", "channel": "therapist:t1"}')
    assert json.loads(slow.read_one())["type"] == "subscribed"
    service = {"Authorization": f"Bearer {token('service', 'platform')}"}
    closes = live.runtime.metrics.slow_consumer_closes
    sent = 0
    with httpx.Client(base_url=live.http_url, headers=service, timeout=30) as http:
        for batch in range(100):
            crises = [checkin(f"c{batch}-{n}", "p1", "2026-11-20", score=1) for n in range(500)]
            assert http.post("/api/v1/events", json={"events": crises}).status_code == 200
            sent += len(crises)
            if closes._value.get() >= 1:
                return slow, sent
    raise AssertionError("the stalled client was never cut off")


@pytest.fixture
def slow_hub(db_path: Path) -> Iterator[LiveServer]:
    live = start_server(settings_for(db_path, send_queue_frames=300, coalesce_s=0.0))
    try:
        yield live
    finally:
        live.stop()


def test_a_cut_off_consumer_gets_close_4000_right_behind_what_the_kernel_holds(
    slow_hub: LiveServer,
) -> None:
    slow, sent = _stall_until_cut_off(slow_hub)
    try:
        assert slow.read_until_closed(timeout=20) == 4000
        # The queue was dropped: only what was already in flight reached the client.
        assert len(slow.received) < 1500, len(slow.received)
    finally:
        slow.close()


def test_a_cut_off_consumer_that_never_reads_is_disconnected_on_a_deadline(
    slow_hub: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "SLOW_CLOSE_TIMEOUT_S", 1.0)
    slow, _ = _stall_until_cut_off(slow_hub)
    try:
        sock = slow._socket
        # Nothing read: the hub cannot flush, so it must give up on the socket itself.
        wait_until(lambda: _tcp_state(sock) != 1, 10, "the hub to drop the stalled socket")
        assert not slow_hub.runtime.connections
    finally:
        slow.close()
