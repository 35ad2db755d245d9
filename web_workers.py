"""Gunicorn workers whose own error pages are our JSON error shape.

Gunicorn answers requests it cannot parse (a request line over `limit_request_line`, too many or too
large headers, a malformed request line) itself, before Flask sees them, with a small HTML page, and it
has no setting or hook for that body. These subclasses of the stock workers override the one method
that writes it (`handle_error`); everything else is gunicorn's. gunicorn.conf.py picks them by name.

A top-level module, not part of `api`: the gunicorn master imports the worker class before forking,
and importing `api` there would load Flask, Redis and SQLAlchemy (and ssl) before gevent patches them.
"""

from __future__ import annotations

import json
from ssl import SSLError
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

# Most specific first: the first matching class gives the status.
STATUS_BY_ERROR: tuple[tuple[type[BaseException], int, str], ...] = (
    (http_errors.InvalidResponseHeader, 500, "Internal Server Error"),  # the application's fault, not the client's
    (http_errors.InvalidResponseHeaderName, 500, "Internal Server Error"),
    (http_errors.ConfigurationProblem, 500, "Internal Server Error"),
    (http_errors.LimitRequestLine, 414, "URI Too Long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (http_errors.ExpectationFailed, 417, "Expectation Failed"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden"),
    (SSLError, 403, "Forbidden"),
    (http_errors.ParseException, 400, "Bad Request"),
)
CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 431: "headers_too_large"}
MESSAGES = {
    414: "the request line is too long: send long filters in fewer, shorter parameters",
    431: "the request headers are too many or too large",
    500: "the server failed",
}


def status_for(exc: BaseException) -> tuple[int, str]:
    """HTTP status and reason phrase for an error gunicorn caught."""
    for error_type, status, reason in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status, reason
    return 500, "Internal Server Error"


def error_body(status: int, message: str) -> dict[str, Any]:
    """The API's one error shape (api/errors.error_body; a test keeps the two equal)."""
    code = CODES.get(status, "error")
    return {"error": {"status": status, "code": code, "message": message, "details": []}}


def json_error_response(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying our error document; the connection is closed after it."""
    body = json.dumps(error_body(status, message)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorsMixin:
    """Replaces Worker.handle_error: same logging, our JSON body."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, reason = status_for(exc)
        if status == 500:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
            message = MESSAGES[500]
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
            message = MESSAGES.get(status) or str(exc) or reason
        try:
            write_nonblock(client, json_error_response(status, reason, message))
        except OSError:
            self.log.debug("Failed to send error message.")


class JsonThreadWorker(JsonErrorsMixin, ThreadWorker):
    """gunicorn's gthread worker with JSON error pages."""


class HeadWithBody:
    """A client socket for one request, sending a response's head together with its first body bytes.

    gunicorn writes the head (status line and headers) and then the body in two sendall calls: two send
    system calls and two trips through gevent's socket code per response, a sixth of the CPU a small
    ingest request leaves outside the application. The head is held back until the body's first write
    and both go in one call. Anything else done with the socket (reads, a WebSocket's own sends,
    sendfile, closing) sends a held head first, as does the end of the request, so bytes keep their order.
    """

    __slots__ = ("_sock", "_held", "_first")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._held = b""
        self._first = True

    def sendall(self, data: Any, *flags: Any) -> None:
        if self._held:
            data, self._held = self._held + bytes(data), b""
        elif self._first and not flags and isinstance(data, bytes) and data.startswith(b"HTTP/"):
            self._first, self._held = False, data
            return
        self._first = False
        self._send_all(data, *flags)

    def flush(self) -> None:
        """Send a head still held (a response without body bytes, or before another use of the socket)."""
        if self._held:
            held, self._held = self._held, b""
            self._send_all(held)

    def _send_all(self, data: Any, *flags: Any) -> None:
        """sendall, tried first as one send: a response fits the socket's buffer, and gevent's sendall asks the
        socket its buffer size (a system call) and slices the data into chunks before it sends anything."""
        if flags or type(data) is not bytes:
            self._sock.sendall(data, *flags)
            return
        sent = self._sock.send(data)
        if sent < len(data):
            self._sock.sendall(memoryview(data)[sent:])

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._sock, name)


class OneSendMixin:
    """Serves each request through HeadWithBody (gevent worker: handle_request gets the client socket)."""

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        wrapped = HeadWithBody(sock)
        try:
            return super().handle_request(listener_name, req, wrapped, addr)  # type: ignore[misc]
        finally:
            wrapped.flush()


def __getattr__(name: str) -> Any:
    """`web_workers.JsonGeventWorker`, built on first use: only a gevent deployment imports gevent."""
    if name != "JsonGeventWorker":
        raise AttributeError(name)
    from gunicorn.workers.ggevent import GeventWorker  # noqa: PLC0415

    worker = type(
        name,
        (OneSendMixin, JsonErrorsMixin, GeventWorker),
        {"__doc__": "gunicorn's gevent worker with JSON errors and each response's head sent with its body."},
    )
    globals()[name] = worker
    return worker
