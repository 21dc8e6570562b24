"""The dependency rules of DEVELOPERS.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("storage", {"realtime", "clients", "starlette", "uvicorn"}),
        ("clients", {"storage", "domain", "starlette", "uvicorn"}),
    ],
)
def test_dependencies_point_one_way(package: str, forbidden: set[str]) -> None:
    for path in modules(package):
        assert not imported_roots(path) & forbidden, path


def test_clients_use_only_the_protocol_module_of_realtime() -> None:
    for path in modules("clients"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("realtime"):
                assert node.module == "realtime.protocol", path


def test_protocol_module_and_package_init_stay_free_of_the_server() -> None:
    roots = imported_roots(ROOT / "realtime" / "protocol.py")
    assert not roots & {"starlette", "uvicorn", "storage", "aiosqlite", "domain"}
    assert imported_roots(ROOT / "realtime" / "__init__.py") == set()
