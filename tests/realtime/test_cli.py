"""``progress-hub`` as a user runs it: real processes, real files, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from clients.hub_client import HubClient
from tests.realtime.helpers import mood_checkin
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realtime.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or clean_env(),
    )


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PROGRESS_HUB_SECRET"}


def test_token_is_signed_with_the_secret_kept_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "data" / "hub.db"
    result = cli("token", "--role", "therapist", "--sub", "t1", "--ttl", "600", "--db", str(db))
    assert result.returncode == 0, result.stderr
    secret_file = db.with_name("hub.db.secret")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    claims = jwt.decode(result.stdout.strip(), secret_file.read_text(), algorithms=["HS256"])
    assert claims["sub"] == "t1" and claims["role"] == "therapist"
    assert 590 <= claims["exp"] - time.time() <= 600
    again = cli("token", "--role", "therapist", "--sub", "t1", "--db", str(db))
    jwt.decode(again.stdout.strip(), secret_file.read_text(), algorithms=["HS256"])


def test_token_uses_the_environment_secret_when_set(tmp_path: Path) -> None:
    secret = "an-environment-secret-that-is-long-enough-0123"
    env = {**clean_env(), "PROGRESS_HUB_SECRET": secret}
    result = cli(
        "token", "--role", "admin", "--sub", "ops", "--db", str(tmp_path / "x.db"), env=env
    )
    assert result.returncode == 0, result.stderr
    assert jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])["role"] == "admin"
    assert not (tmp_path / "x.db.secret").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["token", "--role", "wizard", "--sub", "x"],
        ["token", "--role", "admin"],
        ["token", "--role", "admin", "--sub", "x", "--ttl", "soon"],
        ["serve", "--port", "99999"],
        ["serve", "--bogus"],
        ["serve", "--retention-days", "0"],
        ["serve", "--retention-days", "a month"],
        [],
    ],
)
def test_bad_flags_exit_2_with_usage(args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert "usage: progress-hub" in result.stderr


def test_help_lists_both_commands() -> None:
    result = cli("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout and "token" in result.stdout


def test_serve_on_an_unusable_database_path_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**clean_env(), "PROGRESS_HUB_SECRET": "x" * 40}
    result = cli("serve", "--db", str(blocker / "hub.db"), "--port", "0", env=env)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress-hub: error:")]
    assert len(lines) == 1 and "cannot" in lines[0], result.stderr


def test_a_bad_retention_in_the_environment_is_one_clear_line(tmp_path: Path) -> None:
    env = {**clean_env(), "PROGRESS_HUB_SECRET": "x" * 40, "PROGRESS_HUB_RETENTION_DAYS": "-3"}
    result = cli("serve", "--db", str(tmp_path / "hub.db"), "--port", "0", env=env)
    assert result.returncode == 1
    assert "progress-hub: error: PROGRESS_HUB_RETENTION_DAYS: retention days must be above 0" in (
        result.stderr
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    db, port = tmp_path / "hub.db", free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "realtime.cli", "serve", "--db", str(db), "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    wait_until(healthy, 30, "hub to serve")
    try:
        yield process, port, db
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_a_second_hub_on_the_same_database_refuses_to_start(
    served: tuple[subprocess.Popen[str], int, Path],
) -> None:
    _, _, db = served
    result = cli("serve", "--db", str(db), "--port", str(free_port()))
    assert result.returncode == 1
    assert "in use by another progress-hub process" in result.stderr


def test_sigterm_closes_sockets_with_1001_and_exits_0(
    served: tuple[subprocess.Popen[str], int, Path],
) -> None:
    process, port, db = served
    token = cli("token", "--role", "admin", "--sub", "ops", "--db", str(db)).stdout.strip()

    async def connect_then_terminate() -> int | None:
        client = await HubClient.connect(f"ws://127.0.0.1:{port}/ws", token)
        process.send_signal(signal.SIGTERM)
        with pytest.raises(Exception):  # noqa: B017 - any close ends the wait
            await client.next_message(timeout=15)
        await client.close()
        return client.close_code

    assert asyncio.run(connect_then_terminate()) == 1001
    assert process.wait(timeout=20) == 0
    stderr = process.stderr.read() if process.stderr else ""
    assert token not in stderr


def test_serve_refuses_a_malformed_crisis_resources_file_with_one_line(tmp_path: Path) -> None:
    resources = tmp_path / "resources.json"
    resources.write_text('{"resources": []}')
    result = cli(
        "serve", "--db", str(tmp_path / "hub.db"), "--port", str(free_port()),
        "--crisis-resources", str(resources),
    )  # fmt: skip
    assert result.returncode == 1
    assert "resources: a list of 1 to 20" in result.stderr


def test_a_clinics_crisis_resources_reach_the_patient_with_a_critical_alert(
    tmp_path: Path,
) -> None:
    resources = tmp_path / "resources.json"
    resources.write_text(
        '{"message": "Help is here.", "resources": [{"name": "Crisis line", "contact": "116 123"}]}'
    )
    secret = "an-environment-secret-that-is-long-enough-0123"
    env = {**clean_env(), "PROGRESS_HUB_SECRET": secret}
    port = free_port()
    command = [sys.executable, "-m", "realtime.cli", "serve", "--db", str(tmp_path / "hub.db")]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--crisis-resources", str(resources)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, 30, "hub to serve")
        from tests.support import token

        service = {"Authorization": f"Bearer {token('service', 'platform', secret=secret)}"}
        httpx.put(
            f"{url}/api/v1/patients/p1",
            json={"therapist_id": "t1", "timezone": "UTC"},
            headers=service,
        )

        async def crisis() -> dict[str, object]:
            patient = token("patient", "p1", secret=secret)
            async with await HubClient.connect(f"ws://127.0.0.1:{port}/ws", patient) as client:
                await client.subscribe("patient:p1")
                await client.publish([mood_checkin("e1", "p1", "2026-11-21T12:00:00Z", 1)])
                while True:
                    frame = await client.next_message(timeout=10)
                    if frame.get("type") == "message" and frame["data"]["kind"] == "support":
                        return dict(frame["data"])

        support = asyncio.run(crisis())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert support == {
        "kind": "support",
        "message": "Help is here.",
        "resources": [{"name": "Crisis line", "contact": "116 123"}],
    }
