"""The running site the browser tests drive: a gunicorn web process (restartable on its port), a
Celery worker, a private Redis, the test database seeded with tests/browser_school.py, and Chromium."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from api.auth.tokens import issue_token
from api.embedded_redis import EmbeddedRedis, free_port
from tests.conftest import SECRET
from tests.processes import BIN, ROOT, Process, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
ARTIFACTS = ROOT / "artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
# Console noise that is the test's doing, not the page's: a refused page's own 404, a stopped server.
EXPECTED_CONSOLE = ("status of 404", "ERR_CONNECTION_REFUSED", "WebSocket connection to")


def token(external_id: str, role: str, ttl: int = 1800) -> str:
    return issue_token(SECRET, external_id, role, ttl)[0]


@dataclass
class Site:
    """The web process can be stopped and started again on the same port (the reconnect test)."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    web: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_web(self) -> None:
        env = {**self.env, "PORT": str(self.port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}
        self.web = Process("web", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"], env, self.log_dir)
        wait_until(lambda: requests.get(f"{self.url}/health", timeout=2).ok, 60, "the web process to serve")

    def stop_web(self) -> None:
        if self.web is not None:
            self.web.stop()
            self.web = None

    def api(self, method: str, path: str, user: tuple[str, str], **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token(*user)}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


def private_redis(tmp: Path) -> tuple[EmbeddedRedis, str, str]:
    """Data (db 0) and Celery broker (db 1) on a Redis no other test or engineer uses."""
    server = EmbeddedRedis(tmp).start()
    return server, server.url, server.url.rsplit("/", 1)[0] + "/1"


def save_screenshot(page, name: str) -> Path:
    """artifacts/screenshots/<name>.png; with LEARNPULSE_DOCS_SCREENSHOTS=1 also docs/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    page.wait_for_timeout(100)  # the sticky header settles at the top before the full-page capture
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("LEARNPULSE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path


def now() -> datetime:
    return datetime.now(UTC)


class Browsing:
    """Signed-in pages of one test, each with its console errors collected."""

    def __init__(self, browser, site: Site, roles: dict[str, str]) -> None:
        self.browser, self.site, self.roles, self.contexts, self.errors = browser, site, roles, [], []

    def open(self, user: str, path: str = "/dashboard", viewport: dict | None = None, ready: bool = True):
        context = self.browser.new_context(viewport=viewport or DESKTOP)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"{page.url}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        page.goto(f"{self.site.url}/login?token={token(user, self.roles[user])}&next={path}")
        assert "token=" not in page.url
        if ready:
            page.wait_for_selector("body[data-ready='1']", timeout=20000)
            page.wait_for_selector("#live-indicator[data-state='open']", timeout=10000)
        return page

    def assert_clean(self, *allowed: str) -> None:
        unexpected = [e for e in self.errors if not any(a in e for a in allowed)]
        assert not unexpected, "console errors:\n" + "\n".join(unexpected)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
