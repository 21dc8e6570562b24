"""Build hook: compile the pure domain with mypyc when building a wheel; plain Python otherwise.

Everything else about the package is declared in ``pyproject.toml``. Only the extension
modules live here, because whether to build them depends on the build:

- ``pip install .`` and wheels compile every module of ``domain/`` except ``events.py``
  (pydantic models, which mypyc does not compile) and ``__init__.py``, and keep the ``.py``
  files next to them. ``domain.build()`` says which one is running.
- Editable installs (``pip install -e .``, what ``make`` uses) never compile: an extension
  module built in place next to its ``.py`` would shadow every later edit of the source.
  ``make test`` builds and tests the compiled domain out of tree (see the Makefile).
- ``PROGRESS_HUB_PURE=1`` skips compilation; so does a failure of any kind (no C compiler, no
  Python headers, a mypyc error): the install then ships the pure modules and says why. An
  install never fails for want of the compiled domain.
- ``PROGRESS_HUB_STRICT_BUILD=1`` (set by ``make`` where a C compiler exists) turns any failure
  into an error instead: domain code that mypyc cannot compile must not pass the tests by
  quietly falling back to pure Python.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

COMPILED_MODULES = sorted(
    str(path)
    for path in Path("domain").glob("*.py")
    if path.name not in {"__init__.py", "events.py"}
)
"""Relative paths: setuptools runs this file from the project root."""

WHEEL_COMMANDS = {"bdist_wheel", "build", "build_ext", "install"}
"""Commands that build what gets installed (``editable_wheel`` is not one of them)."""


STRICT = os.environ.get("PROGRESS_HUB_STRICT_BUILD") == "1"


def _warn(message: str) -> None:
    if STRICT:
        raise SystemExit(f"progress-hub: {message} (PROGRESS_HUB_STRICT_BUILD=1)")
    print(f"progress-hub: {message}; the domain runs as pure Python", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` that leaves the pure modules in place when compilation fails."""

    def run(self) -> None:
        if getattr(self, "editable_mode", False) or self.inplace:
            print("progress-hub: editable or in-place build, domain not compiled", file=sys.stderr)
            return
        try:
            super().run()
        except Exception as error:  # any failure means: ship pure Python
            self._remove_partial_outputs()
            _warn(f"compiling the domain failed ({error!r})")

    def _remove_partial_outputs(self) -> None:
        # The modules share one library: half a build would fail at import time.
        for output in self.get_outputs():
            Path(output).unlink(missing_ok=True)


def _extensions() -> list[Any]:
    if os.environ.get("PROGRESS_HUB_PURE") == "1":
        print("progress-hub: PROGRESS_HUB_PURE=1, domain not compiled", file=sys.stderr)
        return []
    if not WHEEL_COMMANDS & set(sys.argv[1:]):
        return []  # metadata, sdists and editable installs need no compiler
    try:
        from mypyc.build import mypycify

        extensions: list[Any] = mypycify(COMPILED_MODULES, group_name="progress_hub_domain")
    except (Exception, SystemExit) as error:  # mypyc exits on type errors
        _warn(f"mypyc could not translate the domain ({error!r})")
        return []
    return extensions


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
