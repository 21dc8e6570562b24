"""Pytest plugin for the compiled pass of ``make test`` (``-p tests.domain.build_plugin``).

The compiled domain is unpacked out of tree (``build/compiled``, on ``PYTHONPATH``), but pytest
puts the project root first on ``sys.path`` when it imports the tests, so a plain run would
import the sources and silently test pure Python. A plugin is imported before that: ``domain``
then comes from the build, and every submodule follows the package's ``__path__``.

It also refuses a build whose ``.py`` files differ from the sources: a compiled module older
than its source would test code that no longer exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import domain

SOURCES = Path(__file__).resolve().parents[2] / "domain"
BUILT = Path(domain.__file__).resolve().parent


def pytest_report_header() -> str:
    return f"domain build: {domain.build()} ({BUILT})"


def pytest_configure(config: pytest.Config) -> None:
    if BUILT == SOURCES:
        return  # the sources themselves: nothing can be stale
    sources = {path.name: path.read_bytes() for path in SOURCES.glob("*.py")}
    built = {path.name: path.read_bytes() for path in BUILT.glob("*.py")}
    if sources != built:
        stale = sorted(
            name for name in sources.keys() | built.keys() if sources.get(name) != built.get(name)
        )
        raise pytest.UsageError(
            f"{BUILT} was built from other sources ({', '.join(stale)}): rebuild it (make test)"
        )
