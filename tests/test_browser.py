"""The dashboards in a real browser (Debian's Chromium through Playwright) against a real gunicorn web
process, a Celery worker and the test database: each role signs in and sees real data; the roster
sorts and filters; live events reach open pages within 2 s; the live indicator follows a dropped
socket; an alert is acknowledged from the UI; refused pages stay refused; no page logs a console error.
Screenshots of every dashboard (desktop 1280x800, phone 375x812) go to artifacts/screenshots/."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from api import create_app
from models import db
from services.monitoring import evaluate_rules, learner_ids_between, shard_ranges
from services.sweeps import shard_size
from tests.browser_school import ADMIN, EDUCATOR, build_catalog, learner_id, school_events
from tests.browser_site import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    EXPECTED_CONSOLE,
    PHONE,
    Browsing,
    Site,
    now,
    private_redis,
    save_screenshot,
)
from tests.conftest import SECRET, base_config, wipe
from tests.processes import service_env, start_worker, wait_until

pytestmark = pytest.mark.integration
AMIRA, DIEGO, BEN, ZOE, LEO = (
    learner_id(n) for n in ("Amira Haddad", "Diego Ramos", "Ben Carter", "Zoe Lindqvist", "Leo Rossi")
)
ROLES = {EDUCATOR: "educator", ADMIN: "admin", AMIRA: "learner", DIEGO: "learner", "lms": "service"}


def _seed(site: Site, app) -> None:
    """Post four weeks of events through the API, let the worker evaluate them, then run the sweeps."""
    events = school_events(now())
    for start in range(0, len(events), 2000):
        response = site.api("POST", "/api/v1/events", ("lms", "service"), json={"events": events[start : start + 2000]})
        assert response.status_code == 201, response.text
    summary = f"/api/v1/learners/{DIEGO}/summary"
    expected = sum(1 for e in events if e["learner"] == DIEGO)
    wait_until(
        lambda: site.api("GET", summary, (ADMIN, "admin")).json()["counters"]["events_seen"] >= expected,
        90,
        "the worker to evaluate the seeded events",
        interval=0.5,
    )
    with app.app_context():
        for sweep in ("performance", "engagement"):
            for low, high in shard_ranges(shard_size()):
                evaluate_rules(learner_ids_between(low, high), sweep)
        db.session.remove()


@pytest.fixture(scope="module")
def site(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    log_dir = tmp_path_factory.mktemp("browser-logs")
    redis_server, data_url, broker = private_redis(tmp_path_factory.mktemp("browser-redis"))
    app = create_app(base_config(migrated, data_url))
    with app.app_context():
        wipe(data_url)
        build_catalog()
        db.session.remove()
    env = service_env(migrated, data_url, SECRET, CELERY_BROKER_URL=broker, WS_PING_INTERVAL="5")
    worker = start_worker(env, log_dir, name="browser-worker")
    running = Site(env, log_dir)
    try:
        running.start_web()
        wait_until(
            lambda: requests.get(f"{running.url}/health", timeout=3).json()["checks"]["worker"]["ok"],
            60,
            "the worker to answer",
        )
        _seed(running, app)
        yield running
    except AssertionError:
        print(running.web.output() if running.web else "", worker.output())
        raise
    finally:
        running.stop_web()
        worker.stop()
        redis_server.stop()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (integration-only dependency)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def pages(browser, site) -> Iterator[Browsing]:
    browsing = Browsing(browser, site, ROLES)
    yield browsing
    browsing.close()


def test_learner_sees_their_own_progress(pages):
    page = pages.open(AMIRA)
    assert page.locator("#risk-body .badge").inner_text() in ("On track", "Watch", "At risk", "Not enough data")
    assert page.locator("#kpis .kpi").count() == 4
    assert page.locator("#score-chart svg .score-dot").count() >= 5
    assert page.locator("#score-chart svg .band").count() == 1, "the forecast band is drawn"
    assert page.locator("#courses .course").count() >= 1
    assert page.locator("#mastery li").count() >= 1
    assert page.locator("#activity-feed .feed-item").count() >= 5
    assert page.locator("#achievements .feed-item").count() >= 2  # four weeks of daily study: 7 and 14-day streaks
    save_screenshot(page, "learner-desktop")
    phone = pages.open(AMIRA, viewport=PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    save_screenshot(phone, "learner-phone")
    pages.assert_clean()


def test_educator_tabs_show_real_data(pages):
    page = pages.open(EDUCATOR)
    assert page.locator("#overview .cohort").count() == 2
    assert page.locator("#overview .cohort svg .bar").count() == 18, "grade bands A+..F of both sections"
    assert page.locator("#attention .person").count() >= 1, "who needs me now comes first"
    assert page.locator("#attention .person").first.get_attribute("data-learner") in (DIEGO, LEO)
    save_screenshot(page, "educator-overview-desktop")
    page.click("#tab-sections")
    assert page.locator("#sections-table tbody tr").count() == 2
    assert page.locator("#sections-table a[href$='/export.csv']").count() == 2
    page.click("#tab-subjects")
    page.wait_for_selector("#subjects .cohort")
    page.click("#tab-alerts")
    page.wait_for_selector("#alert-list .alert-item")
    save_screenshot(page, "educator-alerts-desktop")
    phone = pages.open(EDUCATOR, viewport=PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    save_screenshot(phone, "educator-overview-phone")
    pages.assert_clean()


def _roster_names(page) -> list[str]:
    return page.locator("#roster-body tr th a").all_inner_texts()


def _reload_roster(page, action) -> None:
    before = page.locator("#roster-table").get_attribute("data-loaded")
    action()
    page.wait_for_function(
        "before => document.querySelector('#roster-table').dataset.loaded !== before", arg=before, timeout=5000
    )


def test_roster_sorts_filters_and_drills_down(pages):
    page = pages.open(EDUCATOR, "/dashboard#students")
    page.wait_for_selector("#roster-body tr th a")
    names = _roster_names(page)
    assert len(names) == 8 and names == sorted(names, key=str.lower)
    _reload_roster(page, lambda: page.click("th[data-sort='name'] button"))
    assert _roster_names(page) == sorted(names, key=str.lower, reverse=True)
    assert page.get_attribute("th[data-sort='name']", "aria-sort") == "descending"
    _reload_roster(page, lambda: page.fill("#roster-q", "chloe"))
    assert _roster_names(page) == ["Chloe Nguyen"]
    _reload_roster(page, lambda: page.fill("#roster-q", ""))
    _reload_roster(page, lambda: page.select_option("#roster-section", "geo-1"))
    assert len(_roster_names(page)) == 6
    _reload_roster(page, lambda: page.select_option("#roster-risk", "red"))
    risk_cells = page.locator("#roster-body td[data-col='risk_light']:visible").all_inner_texts()
    assert all("At risk" in cell for cell in risk_cells), (
        "a risk filter keeps only that risk (where the server says it)"
    )
    _reload_roster(page, lambda: page.select_option("#roster-section", "alg-1"))
    _reload_roster(page, lambda: page.select_option("#roster-risk", ""))
    save_screenshot(page, "educator-students-desktop")
    page.click("#roster-body a:text('Diego Ramos')")
    page.wait_for_url(f"**/dashboard/learners/{DIEGO}")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#alert-history tbody tr")
    page.wait_for_selector("#grades tbody tr")
    page.wait_for_selector("#attendance tbody tr")
    assert page.locator("a[href$='/report.pdf']").count() == 1
    page.fill("#deadline", (now() + timedelta(days=60)).date().isoformat())
    page.click("#deadline-form button")
    assert "chance to finish by" in page.locator("#courses .chance").first.inner_text(timeout=10000)
    save_screenshot(page, "learner-detail-desktop")
    save_screenshot(pages.open(EDUCATOR, f"/dashboard/learners/{DIEGO}", viewport=PHONE), "learner-detail-phone")
    pages.assert_clean()


def test_events_appear_live_on_open_pages(pages, site):
    educator = pages.open(EDUCATOR)
    learner = pages.open(AMIRA)
    event_id = f"live-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    event = {
        "id": event_id,
        "learner": AMIRA,
        "kind": "activity",
        "module": "algebra-m2",
        "occurred_at": now().isoformat(),
        "duration_seconds": 600,
    }
    assert site.api("POST", "/api/v1/events", ("lms", "service"), json={"events": [event]}).status_code == 201
    for page, feed in ((educator, "#live-feed"), (learner, "#activity-feed")):
        remaining = max(0.1, 2.0 - (time.monotonic() - started))
        page.wait_for_selector(f"{feed} [data-event-id='{event_id}']", timeout=remaining * 1000)
    pages.assert_clean()


def test_acknowledge_an_alert_from_the_queue(pages, site):
    page = pages.open(EDUCATOR, "/dashboard#alerts")
    button = page.locator("#alert-list [data-ack]").first
    alert_id = button.get_attribute("data-ack")
    button.click()
    page.fill("#ack-note", "Called home; revision session on Friday")
    page.click("#ack-submit")
    page.wait_for_selector(f"#alert-list [data-alert-id='{alert_id}'][data-status='acknowledged']")
    history = site.api("GET", "/api/v1/alerts/history", (EDUCATOR, "educator")).json()["history"]
    entry = next(h for h in history if h["alert_id"] == int(alert_id))
    assert entry["to_status"] == "acknowledged" and entry["actor"] == EDUCATOR
    assert entry["note"] == "Called home; revision session on Friday"
    pages.assert_clean()


def test_refused_pages_show_nothing(pages):
    page = pages.open(AMIRA)
    response = page.goto(f"{pages.site.url}/dashboard/learners/{BEN}")
    assert response.status == 404 and "Not found" in page.inner_text("h1")
    assert "Ben" not in page.inner_text("main")
    educator = pages.open(EDUCATOR)
    assert educator.goto(f"{pages.site.url}/dashboard/learners/{ZOE}").status == 404
    assert educator.request.get(f"{pages.site.url}/api/v1/learners/{ZOE}/summary").status == 404
    pages.assert_clean("status of 404")


def test_admin_sees_health_statistics_and_thresholds(pages):
    page = pages.open(ADMIN)
    page.wait_for_selector("#health .check[data-check='database']")
    assert page.locator("#periodic-jobs tbody tr").count() >= 2, "the last run of each periodic job"
    assert "ok" in page.inner_text("#health .check[data-check='worker'] .badge")
    page.wait_for_selector("#alert-stats .figure")
    page.select_option("#th-rule", "performance_decline")
    page.select_option("#th-parameter", "average_below")
    page.fill("#th-value", "55")
    page.click("#threshold-form button[type='submit']")
    row = page.locator("#thresholds tr", has_text="average_below")
    row.wait_for()
    save_screenshot(page, "admin-desktop")
    row.locator("button").click()
    row.wait_for(state="detached")
    save_screenshot(pages.open(ADMIN, viewport=PHONE), "admin-phone")
    pages.assert_clean()


def test_sign_in_help_page(browser, site):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{site.url}/dashboard")
    assert "/signin" in page.url and "Sign in" in page.inner_text("h1")
    save_screenshot(page, "signin-desktop")
    context.close()


def test_indicator_follows_a_dropped_socket(pages, site):
    page = pages.open(EDUCATOR)
    site.stop_web()
    page.wait_for_selector("#live-indicator[data-state='reconnecting']", timeout=15000)
    site.start_web()
    page.wait_for_selector("#live-indicator[data-state='open']", timeout=45000)
    assert page.inner_text("#live-indicator") == "Live"
    pages.assert_clean(*EXPECTED_CONSOLE)


def test_pages_take_their_live_socket_from_a_dashboards_tier(pages, site):
    """LIVE_SOCKET_URL (README, "Scaling out"): the pages open their live socket on a second web process
    that allows the site's origin; the dashboard still opens live and an event still arrives within 2 s."""
    (site.log_dir / "tier").mkdir(exist_ok=True)
    tier = Site({**site.env, "WS_ALLOWED_ORIGINS": site.url}, site.log_dir / "tier")
    tier.start_web()
    site.stop_web()
    site.env["LIVE_SOCKET_URL"] = tier.url
    try:
        site.start_web()
        page = pages.open(EDUCATOR)
        assert page.evaluate("window.lpLive.url").startswith(f"ws://127.0.0.1:{tier.port}/ws/")
        event_id = f"tier-{uuid.uuid4().hex[:8]}"
        event = {"id": event_id, "learner": AMIRA, "kind": "activity", "occurred_at": now().isoformat()}
        started = time.monotonic()
        assert site.api("POST", "/api/v1/events", ("lms", "service"), json={"events": [event]}).status_code == 201
        page.wait_for_selector(f"#live-feed [data-event-id='{event_id}']", timeout=2000)
        assert time.monotonic() - started < 2.0
        tier.stop_web()  # the page's socket was the tier's: it reconnects, though the site still serves
        page.wait_for_selector("#live-indicator[data-state='reconnecting']", timeout=15000)
        pages.assert_clean(*EXPECTED_CONSOLE)
    finally:
        tier.stop_web()
        site.stop_web()
        del site.env["LIVE_SOCKET_URL"]
        site.start_web()
