"""Pure progress logic: events and the current instant in, figures and effects out.

Nothing here imports asyncio, touches I/O or reads a clock; the shell (``realtime``) and
``storage`` call it.

Installed from a wheel, every module but ``events`` is compiled with mypyc (``setup.py``);
editable installs and ``PROGRESS_HUB_PURE=1`` run the same modules as plain Python.
"""

from __future__ import annotations

from importlib.util import find_spec


def build() -> str:
    """``"compiled"`` when the mypyc-compiled modules are the ones imported, else ``"pure"``."""
    spec = find_spec("domain.progress")
    origin = spec.origin if spec is not None else None
    return "pure" if origin is None or origin.endswith(".py") else "compiled"
