"""Fault injection for crash tests: kill the process at a named step of the publish path.

``PROGRESS_HUB_FAULT=after_commit`` (say) makes the process SIGKILL itself the first time it
reaches that checkpoint, as a power cut would. Only the crash tests set it; unset, a checkpoint
costs one dictionary lookup. Steps: ``after_apply`` (applied, not committed),
``after_commit`` (committed, nothing pushed), ``after_push`` (pushed, not acknowledged).
"""

from __future__ import annotations

import os
import signal
from typing import Final

FAULT_ENV: Final = "PROGRESS_HUB_FAULT"
STEPS: Final = ("after_apply", "after_commit", "after_push")


def checkpoint(step: str) -> None:
    """Die here, without cleaning anything up, when the environment asks for this step."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
