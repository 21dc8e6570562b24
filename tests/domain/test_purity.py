"""domain/ is pure: no I/O frameworks, no shell packages, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import domain

DOMAIN = Path(domain.__file__).resolve().parent
FORBIDDEN_IMPORTS = {
    "asyncio",
    "anyio",
    "aiosqlite",
    "sqlite3",
    "starlette",
    "uvicorn",
    "websockets",
    "msgpack",
    "storage",
    "realtime",
    "clients",
    "socket",
    "threading",
    "time",
}
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}
CLOCK_CALLS |= {("time", name) for name in ("time", "monotonic", "perf_counter", "time_ns")}

SOURCES = sorted(DOMAIN.rglob("*.py"))


def test_the_scan_sees_the_domain_modules() -> None:
    assert {path.name for path in SOURCES} >= {"progress.py", "ledger.py", "analytics.py"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_domain_imports_nothing_forbidden(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots = {node.module.split(".")[0]}
        else:
            continue
        assert not roots & FORBIDDEN_IMPORTS, f"{path.name}:{node.lineno} imports {roots}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_domain_never_reads_a_clock(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in CLOCK_CALLS, f"{path.name}:{node.lineno}"


def test_the_scanner_would_catch_a_violation() -> None:
    bad = ast.parse("import asyncio\nfrom datetime import datetime\nx = datetime.now()")
    imports = [n for n in ast.walk(bad) if isinstance(n, ast.Import)]
    clocks = [
        n
        for n in ast.walk(bad)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and (n.value.id, n.attr) in CLOCK_CALLS
    ]
    assert imports and clocks
