"""One hub per database file, however the file is named: the lock follows the file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hubprocess import HubProcess, run_hub

pytestmark = pytest.mark.slow


@pytest.fixture
def running(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "hub.db", tmp_path / "hub.log")
    try:
        yield hub
    finally:
        hub.kill()


def _symlink(target: Path, name: Path) -> None:
    name.symlink_to(target)


def _hard_link(target: Path, name: Path) -> None:
    os.link(target, name)


@pytest.mark.parametrize("make_alias", [_symlink, _hard_link], ids=["symlink", "hard-link"])
def test_a_second_hub_reaching_the_file_by_another_name_is_refused(
    running: HubProcess, tmp_path: Path, make_alias: Callable[[Path, Path], None]
) -> None:
    other_folder = tmp_path / "elsewhere"
    other_folder.mkdir()
    alias = other_folder / "alias.db"
    make_alias(tmp_path / "hub.db", alias)
    result = run_hub(alias, "--port", "0")
    assert result.returncode == 1, result.stderr
    assert "in use by another progress-hub process" in result.stderr
    assert f"(pid {running.process.pid})" in result.stderr
    assert running.process.poll() is None
