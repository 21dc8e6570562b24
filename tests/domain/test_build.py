"""The build under test is the one ``make test`` meant to test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import domain

EXPECTED = os.environ.get("PROGRESS_HUB_EXPECT_BUILD")


@pytest.mark.skipif(EXPECTED is None, reason="PROGRESS_HUB_EXPECT_BUILD is not set")
def test_the_domain_imported_is_the_build_expected() -> None:
    assert domain.build() == EXPECTED


def test_build_says_compiled_exactly_when_extension_modules_are_imported() -> None:
    from domain import ledger, progress

    compiled = [
        not Path(str(module.__file__)).name.endswith(".py") for module in (ledger, progress)
    ]
    assert compiled == [domain.build() == "compiled"] * 2
