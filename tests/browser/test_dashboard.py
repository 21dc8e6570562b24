"""The therapist's dashboard in a real Chromium, with ``progress-hub simulate`` streaming a
practice into a real hub: patients listed by risk, charts drawn and moving, alerts in the
inbox, a deep link to one patient, and a reconnect that resumes. Screenshots go to
``tests/artifacts/``."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.clients.processes import Relay
from tests.realtime.helpers import register
from tests.support import LiveServer, serving, settings_for, start_server, token

pytestmark = pytest.mark.browser
PATIENTS = 8  # two of each persona: t1-p01 regular, -p02 fading, -p03 recovering, -p04 crisis
TABLET: ViewportSize = {"width": 1024, "height": 1366}
DESKTOP: ViewportSize = {"width": 1440, "height": 1000}


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A hub with a simulated practice of therapist t1 streaming at 20 events/s."""
    db = tmp_path_factory.mktemp("hub") / "hub.db"
    server = start_server(settings_for(db, coalesce_s=0.05))
    simulator = subprocess.Popen(
        [sys.executable, "-m", "realtime.cli", "simulate", "--url", server.ws_url,
         "--therapist", "t1", "--patients", str(PATIENTS), "--rate", "20", "--seconds", "300",
         "--seed", "7", "--token", token("service", "simulator")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )  # fmt: skip
    try:
        yield server
    finally:
        simulator.terminate()
        simulator.wait(timeout=20)
        server.stop()


def open_page(
    browser: Browser, live: LiveServer, fragment: str, viewport: ViewportSize = TABLET
) -> Page:
    page = browser.new_page(viewport=viewport)
    page.goto(f"{live.http_url}/dashboard#{fragment}")
    expect(page.locator("#status")).to_have_text("live")
    return page


def therapist_fragment(patient: str | None = None) -> str:
    fragment = f"token={token('therapist', 't1')}"
    return fragment + (f"&patient={patient}" if patient else "")


@pytest.fixture
def dashboard(browser: Browser, practice: LiveServer) -> Iterator[Page]:
    """The practice's dashboard as therapist t1 on a tablet, live; closed even if a test fails."""
    page = open_page(browser, practice, therapist_fragment())
    yield page
    page.close()


def test_the_practice_is_listed_by_risk_with_alerts(dashboard: Page, artifacts: Path) -> None:
    rows = dashboard.locator("#practice-body tr")
    expect(rows).to_have_count(PATIENTS, timeout=20_000)
    # The patients in crisis carry critical alerts, so they come first.
    expect(dashboard.locator("#inbox li[data-code=mood_crisis]").first).to_be_visible(
        timeout=20_000
    )
    expect(rows.first.locator(".badge.critical")).to_have_text("1", timeout=20_000)
    assert rows.first.get_attribute("data-patient") in ("t1-p04", "t1-p08")
    priorities = [float(p) for p in dashboard.eval_on_selector_all(
        "#practice-body tr", "rows => rows.map(r => r.dataset.priority)")]  # fmt: skip
    assert priorities == sorted(priorities, reverse=True)
    fading = dashboard.locator("#practice-body tr[data-patient=t1-p02]")
    expect(fading.locator(".badge").first).to_contain_text("high")
    expect(fading.locator("td.why")).to_contain_text("No activity for")
    dashboard.screenshot(path=str(artifacts / "practice.png"), full_page=True)


def test_a_patients_charts_are_drawn_and_move_as_events_arrive(
    dashboard: Page, artifacts: Path
) -> None:
    dashboard.locator("#practice-body tr[data-patient=t1-p01]").click(timeout=20_000)
    expect(dashboard.locator("#patient-view")).to_be_visible()
    expect(dashboard.locator("#patient-title")).to_have_text("t1-p01")
    activity = dashboard.locator("#chart-activity svg")
    expect(activity).to_be_visible(timeout=20_000)
    expect(dashboard.locator("#chart-activity svg rect.bar").first).to_be_attached()
    expect(dashboard.locator("#chart-mood svg path.line").first).to_be_attached()
    expect(dashboard.locator("#chart-heatmap svg rect.cell").first).to_be_attached(timeout=20_000)
    expect(dashboard.locator("#patient-milestones li strong").first).to_be_visible()
    before = float(activity.get_attribute("data-total") or 0)
    # The simulator keeps streaming: today's bar grows without a reload.
    dashboard.wait_for_function(
        "before => Number(document.querySelector('#chart-activity svg').dataset.total) > before",
        arg=before,
        timeout=30_000,
    )
    dashboard.screenshot(path=str(artifacts / "patient.png"), full_page=True)


def test_a_deep_link_opens_one_patient(
    browser: Browser, practice: LiveServer, artifacts: Path
) -> None:
    page = open_page(browser, practice, therapist_fragment("t1-p02"))
    expect(page.locator("#practice-view")).to_be_hidden()
    expect(page.locator("#patient-title")).to_have_text("t1-p02")
    expect(page.locator("#patient-factors li").first).to_contain_text(
        "No activity for", timeout=20_000
    )
    # Two weeks of silence: the charts are drawn, over 14 days, with nothing in them.
    expect(page.locator("#chart-minutes svg")).to_have_attribute("data-points", "14")
    expect(page.locator("#chart-minutes svg")).to_have_attribute("data-total", "0")
    page.screenshot(path=str(artifacts / "patient-fading.png"), full_page=True)
    page.close()


def test_a_crisis_raises_an_inbox_entry_that_can_be_acknowledged(
    dashboard: Page, browser: Browser, practice: LiveServer, artifacts: Path
) -> None:
    crisis = dashboard.locator("#inbox li[data-code=mood_crisis][data-state=open]").first
    expect(crisis).to_be_visible(timeout=20_000)
    alert_id = crisis.get_attribute("data-alert")
    assert alert_id, "a section-7 alert carries its alert_id"
    entry = dashboard.locator(f"#inbox li[data-alert='{alert_id}']")
    entry.locator("input.ack-note").fill("Called the patient; safety plan reviewed")
    entry.locator("button.ack").click()
    expect(entry).to_have_attribute("data-state", "acknowledged", timeout=10_000)
    expect(entry.locator(".note")).to_contain_text("safety plan reviewed")
    expect(entry.locator(".acknowledged-by")).to_contain_text("acknowledged by t1")
    # Open alerts stay above the acknowledged one.
    states = dashboard.eval_on_selector_all("#inbox li", "items => items.map(i => i.dataset.state)")
    assert states == sorted(states, key=lambda state: state != "open")
    # The inbox scrolls on its own: show this entry.
    dashboard.eval_on_selector(f"#inbox li[data-alert='{alert_id}']", "li => li.scrollIntoView()")
    dashboard.screenshot(path=str(artifacts / "inbox-acknowledged.png"), full_page=True)
    answer = httpx.get(
        f"{practice.http_url}/api/v1/alerts?state=acknowledged",
        headers={"Authorization": f"Bearer {token('therapist', 't1')}"},
    ).json()
    stored = [a for a in answer["alerts"] if a["alert_id"] == alert_id]
    assert stored and stored[0]["note"] == "Called the patient; safety plan reviewed"
    assert stored[0]["acknowledged_by"] == "t1"
    # A second dashboard (and so a reload), on a desktop, shows it acknowledged, not open.
    other = open_page(browser, practice, therapist_fragment(), DESKTOP)
    expect(other.locator(f"#inbox li[data-alert='{alert_id}']")).to_have_attribute(
        "data-state", "acknowledged", timeout=10_000
    )
    # The inbox is a narrow column there: its forms stay inside it.
    expect(other.locator("#inbox li[data-state=open] button.ack").first).to_be_visible()
    overflow = other.evaluate(OVERFLOWING_BUTTONS)
    assert overflow == [], "Acknowledge buttons outside the inbox card"
    other.screenshot(path=str(artifacts / "practice-desktop.png"), full_page=True)
    other.close()


OVERFLOWING_BUTTONS = """
() => {
  const card = document.querySelector("#inbox-card").getBoundingClientRect();
  return [...document.querySelectorAll("#inbox button.ack")]
    .map((button) => button.getBoundingClientRect())
    .filter((box) => box.right > card.right || box.left < card.left)
    .map((box) => [box.left, box.right, card.right]);
}
"""


@pytest.fixture
def escalating(db_path: Path) -> Iterator[LiveServer]:
    """A hub of its own that escalates a crisis left open for one second."""
    with serving(settings_for(db_path, coalesce_s=0.0, alert_escalate_after_s=1.0)) as server:
        register(server, "p1", "t1")
        yield server


def test_an_escalated_crisis_survives_a_reload_and_its_support_is_shown(
    browser: Browser, escalating: LiveServer, artifacts: Path
) -> None:
    page = open_page(browser, escalating, therapist_fragment())
    expect(page.locator("#practice-body tr")).to_have_count(1, timeout=10_000)
    crisis = {"id": "c1", "kind": "mood_checkin", "patient_id": "p1", "score": 1,
              "at": datetime.now(UTC).isoformat()}  # fmt: skip
    answer = httpx.post(
        f"{escalating.http_url}/api/v1/events",
        json={"events": [crisis]},
        headers={"Authorization": f"Bearer {token('service', 'platform')}"},
    )
    assert answer.json()["accepted"] == ["c1"]
    entry = page.locator("#inbox li[data-code=mood_crisis]")
    expect(entry).to_have_attribute("data-state", "open", timeout=10_000)
    expect(entry).to_have_attribute("data-escalations", re.compile("[1-3]"), timeout=10_000)
    expect(entry.locator(".badge.escalated")).to_contain_text("escalated ×")
    expect(page.locator("#inbox-count")).to_contain_text("1 open, 1 escalated")
    # The patient's view: the alert, and the support the hub sent to the patient with it.
    page.locator("#practice-body tr[data-patient=p1]").click()
    expect(page.locator("#patient-alert-list li[data-code=mood_crisis]")).to_be_visible()
    expect(page.locator("#patient-support-message")).to_contain_text("emergency services")
    expect(page.locator("#patient-support-resources li").first).to_contain_text(
        "Local emergency services"
    )
    page.screenshot(path=str(artifacts / "patient-crisis.png"), full_page=True)
    # A reload starts from nothing: the open, escalated alert comes back from the hub.
    page.goto(f"{escalating.http_url}/dashboard#{therapist_fragment()}")
    page.reload()
    entry = page.locator("#inbox li[data-code=mood_crisis]")
    expect(entry).to_have_attribute("data-state", "open", timeout=10_000)
    expect(entry).to_have_attribute("data-escalations", re.compile("[1-3]"))
    page.close()


def test_a_bad_token_shows_the_refusal(browser: Browser, practice: LiveServer) -> None:
    page = browser.new_page()
    page.goto(f"{practice.http_url}/dashboard#token=nonsense")
    expect(page.locator("#status")).to_have_text("closed (4001): the token was refused")
    page.close()


@pytest.fixture
def relay(practice: LiveServer) -> Iterator[Relay]:
    """A TCP relay to the hub on its own event loop thread, so the page can lose its network."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    relay = Relay(practice.settings.port, loop)
    asyncio.run_coroutine_threadsafe(relay.start(), loop).result(timeout=10)
    try:
        yield relay
    finally:
        asyncio.run_coroutine_threadsafe(relay.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_the_page_reconnects_and_resumes_after_losing_its_connection(
    browser: Browser, practice: LiveServer, relay: Relay, artifacts: Path
) -> None:
    page = browser.new_page(viewport=TABLET)
    page.goto(f"http://127.0.0.1:{relay.port}/dashboard#{therapist_fragment('t1-p05')}")
    status = page.locator("#status")
    expect(status).to_have_text("live")
    expect(status).to_have_attribute("data-connections", "1")
    expect(page.locator("#chart-activity svg")).to_be_visible(timeout=20_000)
    before = float(page.locator("#chart-activity svg").get_attribute("data-total") or 0)

    relay.cut_from_another_thread()

    expect(status).to_have_attribute("data-connections", "2", timeout=20_000)
    expect(status).to_have_text("live")
    # Back inside the history window: the hub replays what was missed (recovered), and the
    # chart keeps moving on the new connection.
    expect(status).to_have_attribute("data-recovered", "true")
    page.wait_for_function(
        "before => Number(document.querySelector('#chart-activity svg').dataset.total) > before",
        arg=before,
        timeout=30_000,
    )
    page.close()


def test_an_admin_chooses_whose_practice_to_show(browser: Browser, practice: LiveServer) -> None:
    page = open_page(browser, practice, f"token={token('admin', 'ops')}")
    expect(page.locator("#choose-therapist")).to_be_visible()
    expect(page.locator("#practice-body tr")).to_have_count(0)
    page.fill("#therapist-id", "t1")
    page.click("#choose-therapist button")
    expect(page.locator("#status")).to_have_text("live")
    expect(page.locator("#practice-body tr")).to_have_count(PATIENTS, timeout=20_000)
    expect(page.locator("#practice-name")).to_have_text("of t1")
    page.close()


PUBLISH_FROM_A_PAGE = """
async ([token, patient]) => {
  const { HubConnection } = await import("/static/progress-hub.js");
  const rejected = [];
  const hub = new HubConnection({ token, outboxKey: "test-outbox",
                                  onRejected: (item) => rejected.push(item.code) });
  const ids = hub.publish([
    { kind: "exercise_completed", patient_id: patient, at: new Date().toISOString(),
      exercise: "mindfulness/breathing", duration_s: 600 },
    { kind: "mood_checkin", patient_id: patient, at: "yesterday", score: 5 },
  ]);
  const deadline = Date.now() + 15000;
  while ((hub.outbox.length || hub.state !== "live") && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  hub.close();
  return { ids, left: hub.outbox.length, stored: localStorage.getItem("test-outbox"), rejected };
}
"""


def test_a_patient_page_publishes_through_the_module(
    browser: Browser, practice: LiveServer
) -> None:
    service = {"Authorization": f"Bearer {token('service', 'platform')}"}
    registered = httpx.put(
        f"{practice.http_url}/api/v1/patients/web1",
        json={"therapist_id": "t9", "timezone": "Europe/Berlin"},
        headers=service,
    )
    assert registered.status_code in (200, 201)
    page = browser.new_page()
    page.goto(f"{practice.http_url}/healthz")  # any page of the hub's origin
    result = page.evaluate(PUBLISH_FROM_A_PAGE, [token("patient", "web1"), "web1"])
    page.close()
    assert result["left"] == 0 and result["stored"] == "[]"
    assert result["rejected"] == ["invalid_event"]
    assert all(len(event_id) == 36 and event_id[14] == "7" for event_id in result["ids"])
    progress = httpx.get(f"{practice.http_url}/api/v1/patients/web1/progress", headers=service)
    assert progress.json()["engagement"]["exercises_completed"] == 1
