"""flask-sock's routes on simple-websocket's server, with a plain opening handshake answered directly.

simple-websocket answers the upgrade by writing the request gunicorn already parsed back out as text, parsing it
again with h11 under wsproto and serialising wsproto's 101 with h11: ~0.13-0.2 ms of an open's web CPU (every role
pays it). For a plain request (GET on our routes; Connection naming upgrade, Upgrade: websocket, version 13, a
key and a host, all printable ASCII; no subprotocol or extension offered) the answer is fixed: RFC 6455's 101
with Sec-WebSocket-Accept, the very bytes wsproto writes (tests/test_websocket_server.py compares them). Its
connection then starts as wsproto's own does after that 101 (a frame-level `wsproto.connection.Connection` set on
the library's WSConnection, with the deflate extension object wsproto is given and does not enable). Anything
else goes through the library's handshake unchanged, with its checks, refusals and errors.
"""

from __future__ import annotations

import base64
import hashlib
from functools import wraps
from typing import Any

import simple_websocket
from flask import Blueprint, Response, current_app, request
from flask_sock import Sock as FlaskSock
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.extensions import PerMessageDeflate

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, 1.3
# the library negotiates these (subprotocols, extensions), or its h11 round would read a body after the head
NOT_PLAIN = (
    "HTTP_SEC_WEBSOCKET_PROTOCOL",
    "HTTP_SEC_WEBSOCKET_EXTENSIONS",
    "HTTP_CONTENT_LENGTH",
    "HTTP_TRANSFER_ENCODING",
)
SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "


def _printable(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _idna_host(host: str) -> bool:
    """Whether wsproto can read the Host header (it decodes it as IDNA, and raises where that fails)."""
    try:
        host.encode().decode("idna")
    except UnicodeError:
        return False
    return True


def accept_response(environ: dict[str, Any]) -> bytes | None:
    """The 101 for a plain upgrade request (the bytes wsproto writes for it), or None for anything else."""
    if environ.get("REQUEST_METHOD") != "GET" or any(name in environ for name in NOT_PLAIN):
        return None
    headers = {key: value for key, value in environ.items() if key.startswith("HTTP_")}
    if not all(isinstance(value, str) and _printable(value) for value in headers.values()):
        return None
    tokens = [token.strip().lower() for token in headers.get("HTTP_CONNECTION", "").split(",")]
    key, host = headers.get("HTTP_SEC_WEBSOCKET_KEY"), headers.get("HTTP_HOST")
    if "upgrade" not in tokens or headers.get("HTTP_UPGRADE", "").lower() != "websocket":
        return None
    if headers.get("HTTP_SEC_WEBSOCKET_VERSION") != "13" or not key or not host or not _idna_host(host):
        return None
    accept = base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest())  # noqa: S324  (the RFC's hash)
    return SWITCHING + accept + b"\r\n\r\n"


class Server(simple_websocket.Server):
    """simple-websocket's server; a plain upgrade is answered without the h11 round (module doc)."""

    def handshake(self) -> None:
        response = accept_response(self.environ)
        if response is None:
            super().handshake()
            return
        # as wsproto's H11Handshake._accept leaves it: the frame protocol, with the extensions simple-websocket offers
        self.ws.connection = Connection(ConnectionType.SERVER, [PerMessageDeflate()])
        self.sock.send(response)  # as the library writes its handshake's answer
        self.connected = True


class Sock(FlaskSock):
    """flask-sock's extension with its route built on this module's Server (flask-sock's own route, otherwise)."""

    def route(self, path: str, bp: Any = None, **kwargs: Any) -> Any:
        def decorator(f: Any) -> None:
            @wraps(f)
            def websocket_route(*args: Any, **kwargs: Any) -> Response:
                ws = Server(request.environ, **current_app.config.get("SOCK_SERVER_OPTIONS", {}))
                try:
                    f(ws, *args, **kwargs)
                except simple_websocket.ConnectionClosed:
                    pass
                try:
                    ws.close()
                except Exception:  # noqa: BLE001,S110  (flask-sock's bare except: the socket may be gone)
                    pass
                return _finished(ws.mode)

            kwargs["websocket"] = True
            target: Any = bp or self.app
            if target is None:  # flask-sock's own blueprint, registered by init_app
                if self.bp is None:  # type: ignore[has-type]
                    self.bp = Blueprint("__flask_sock", __name__)
                target = self.bp
            target.route(path, **kwargs)(websocket_route)

        return decorator


class _GunicornDone(Response):
    """What flask-sock answers under gunicorn: the response was the socket, so nothing more is written."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise StopIteration()


def _finished(mode: str) -> Response:
    """flask-sock's WebSocketResponse for this server mode (eventlet is not served here)."""
    if mode == "gunicorn":
        return _GunicornDone()
    if mode == "werkzeug":
        return Response()
    return _Empty()


class _Empty(Response):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return []
