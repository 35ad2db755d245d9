"""Real receivers for notification tests: an SMTP server (aiosmtpd) and a threaded HTTP webhook receiver."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from api.embedded_redis import free_port
from models import WebhookDelivery, WebhookEndpoint, db
from tests.conftest import create_user


class Inbox:
    """An aiosmtpd handler keeping every message it is given; optionally requiring a login."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(mail)  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


def check_login(user: str, password: str):
    """An aiosmtpd authenticator accepting one user."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 on failure

    return authenticator


def start_smtp(inbox: Inbox, **options: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, port


def bodies(mail: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message, with the wire's CRLF line ends as \n."""
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    return text.replace("\r\n", "\n"), html.replace("\r\n", "\n")


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A webhook receiver: records every POST; `plans[path]` lists the statuses to answer in turn (the
    last one repeats; default 200). A 3xx answer redirects to /followed, which a client must not follow."""

    plans: dict[str, list[int]] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # path -> seconds to wait before answering
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.record(self.path, dict(self.headers), body)
                time.sleep(receiver.slow.get(self.path, 0))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/followed")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.hits.append(Hit(path, headers, body, time.monotonic()))
            plan = self.plans.get(path, [200])
            return plan.pop(0) if len(plan) > 1 else plan[0]

    def at(self, path: str) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.path == path]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def pending_delivery(url: str) -> WebhookDelivery:
    """A pending delivery of an alert to `url`, its endpoint stored directly (no registration-time check:
    as if registered while its name pointed elsewhere)."""
    owner = create_user("lms", "service")
    endpoint = WebhookEndpoint(
        owner_id=owner.id, url=url, events=["alert"], secret="whsec_t", enabled=True, consecutive_failures=0
    )
    db.session.add(endpoint)
    db.session.flush()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event="alert", body='{"type":"alert"}', status="pending")
    db.session.add(delivery)
    db.session.commit()
    return delivery
