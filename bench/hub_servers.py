"""Server processes for ``suite.py``: start on a free loopback port, measure, profile, stop.

``hub`` is the hub as deployed: ``python -m realtime.cli serve`` run by :data:`HUB_PYTHON` (the
suite points it at a venv with a non-editable ``pip install .``) from a folder outside the repo,
so the installed package is what runs. ``hub-editable`` is the build ``make run`` uses (the
repo's ``.venv``, editable install). The peers are in ``bench/peers/``. Each is its own
process, stopped with SIGTERM (SIGKILL after a grace period) whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef-0123456789abcdef"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0

Target = Literal["hub", "hub-editable", "relay", "socketio"]
HUBS: tuple[Target, ...] = ("hub", "hub-editable")
# The production build's interpreter; the suite replaces it when it has built one.
HUB_PYTHON = {"python": sys.executable, "build": "editable (repo .venv)"}


# -- server processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, all its threads together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def cpu_window(server: Server, start: float, end: float) -> AsyncIterator[list[float]]:
    """CPU seconds the server uses between two ``time.perf_counter`` instants, filled in at exit.

    Per event this is steadier than latency on a shared machine: time the server spends
    waiting for a core does not count, only the work it does.
    """
    used: list[float] = []

    async def sample() -> None:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        before = cpu_seconds(server.pid)
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        used.append(cpu_seconds(server.pid) - before)

    task = asyncio.create_task(sample())
    try:
        yield used
    finally:
        await task


@dataclass
class Server:
    """One server process on a loopback port; always stopped by :meth:`stop`."""

    target: Target
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        python, cwd = sys.executable, REPO
        db = self.workdir / f"{self.target}-{self.port}.db"
        peers = REPO / "bench" / "peers"
        if self.target in HUBS:
            if self.target == "hub":
                python, cwd = HUB_PYTHON["python"], self.workdir
            command = [python, "-m", "realtime.cli", "serve", "--port", str(self.port)]
            command += ["--db", str(db)]
        elif self.target == "relay":
            command = [python, str(peers / "relay.py"), "--port", str(self.port)]
        else:
            command = [python, str(peers / "socketio_peer.py"), "--port", str(self.port)]
            command += ["--db", str(db)]
        self.log_path = self.workdir / f"{self.target}-{self.port}.log"
        env = {**os.environ, "PROGRESS_HUB_SECRET": SECRET}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target} exited at start-up:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.target} did not listen within {STARTUP_TIMEOUT_S} s")

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # graceful: the hub drains and exits 0
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def running(target: Target, workdir: Path) -> Iterator[Server]:
    server = Server(target, workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def raise_nofile(needed: int) -> tuple[int, str]:
    """Raise the soft descriptor limit to the hard one; say whether it is enough."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    note = f"RLIMIT_NOFILE {soft} -> {limit}"
    if limit != resource.RLIM_INFINITY and limit < needed:
        note += f" (hard limit too low for {needed} descriptors)"
    return limit, note


def py_spy() -> str:
    installed = Path(sys.executable).parent / "py-spy"
    return str(installed) if installed.exists() else shutil.which("py-spy") or "py-spy"


@contextlib.asynccontextmanager
async def profiled(server: Server, out: Path | None, seconds: float) -> AsyncIterator[None]:
    """Sample the hub with py-spy for ``seconds`` from now (when asked for)."""
    if out is None or server.target not in HUBS:
        yield
        return
    command = [py_spy(), "record", "--pid", str(server.pid), "--duration", str(int(seconds))]
    command += ["--rate", "200", "--threads", "--nonblocking"]
    command += ["--format", "raw", "--output", str(out)]
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        yield
    finally:
        try:
            await asyncio.wait_for(spy.wait(), seconds + 15)
        except TimeoutError:
            spy.kill()
            await spy.wait()
