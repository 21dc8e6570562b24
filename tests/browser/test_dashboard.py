"""The dashboard in a real Chromium (Debian's, driven by Playwright): it connects, subscribes,
and its figures move when events arrive.

CI installs chromium (.ci/run) and must run these; on a developer machine without it they are
skipped with the reason, rather than failing a checkout that only lacks a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.realtime.helpers import SERVICE
from tests.support import LiveServer, session_events, token

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run must install it")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def live(live_p1: LiveServer) -> LiveServer:
    return live_p1


def test_dashboard_shows_live_figures(browser: Browser, live: LiveServer, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{live.http_url}/dashboard#token={token('therapist', 't1')}")
    expect(page.locator("#status")).to_have_text("live")
    page.fill("#channel", "patient:p1")
    page.click("text=Watch")
    sessions = page.locator(".figure", has_text="Completed sessions").locator("b")
    expect(sessions).to_have_text("0")

    events = session_events("p1", "s1", "2026-11-20") + session_events("p1", "s2", "2026-11-21")
    response = httpx.post(
        f"{live.http_url}/api/v1/events", json={"events": events}, headers=SERVICE
    )
    assert response.status_code == 200

    expect(sessions).to_have_text("2")
    minutes = page.locator(".figure", has_text="Minutes").locator("b")
    expect(minutes).to_have_text("100")
    expect(page.locator("#log")).to_contain_text("message state")
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    page.close()


def test_dashboard_with_a_bad_token_shows_the_refusal(browser: Browser, live: LiveServer) -> None:
    page = browser.new_page()
    page.goto(f"{live.http_url}/dashboard#token=nonsense")
    expect(page.locator("#status")).to_have_text("closed (4001)")
    page.close()
