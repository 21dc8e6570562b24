"""A hub run as a user runs it: ``python -m realtime.cli serve`` in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from realtime.faults import FAULT_ENV
from tests.support import SECRET, free_port, wait_until


def hub_env() -> dict[str, str]:
    return {**os.environ, "PROGRESS_HUB_SECRET": SECRET}


def run_hub(db: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (for a hub that is expected to refuse to start)."""
    return subprocess.run(
        [sys.executable, "-m", "realtime.cli", "serve", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=hub_env(),
    )


class HubProcess:
    """A serving hub; ``stderr`` goes to ``log`` (when given) so a test can read it afterwards.

    ``fault`` names the step of the publish path at which the process SIGKILLs itself
    (``realtime.faults``); without it the hub runs with no fault armed.
    """

    def __init__(self, db: Path, log: Path = Path(os.devnull), *, fault: str | None = None) -> None:
        self.port = free_port()
        self.log = log
        self._log_file = log.open("a")
        env = hub_env()
        env.pop(FAULT_ENV, None)
        if fault is not None:
            env[FAULT_ENV] = fault
        self.process = subprocess.Popen(
            [sys.executable, "-m", "realtime.cli", "serve", "--db", str(db)]
            + ["--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            text=True,
            env=env,
        )
        wait_until(self._healthy, 30, "hub to serve")
        if self.process.poll() is not None:
            self._log_file.close()
            raise RuntimeError(f"hub exited with {self.process.returncode}: {log.read_text()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL, like a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        """Ask the hub to shut down as an operator would (SIGTERM), and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self._log_file.close()
