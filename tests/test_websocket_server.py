"""api.websocket_server: a plain upgrade answered directly, byte for byte as simple-websocket's wsproto round does,
and everything else left to that round."""

from __future__ import annotations

import base64
import os
import socket

import pytest
import simple_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from api.websocket_server import Server, accept_response


def _environ(sock: socket.socket | None = None, **headers: str) -> dict:
    """A WSGI environ for GET /ws/dashboard/ with these headers (HTTP_ names), as gunicorn builds it."""
    plain = {
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_UPGRADE": "websocket",
        "HTTP_CONNECTION": "Upgrade",
        "HTTP_SEC_WEBSOCKET_KEY": base64.b64encode(os.urandom(16)).decode(),
        "HTTP_SEC_WEBSOCKET_VERSION": "13",
        "HTTP_USER_AGENT": "test",
    }
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/ws/dashboard/", **plain, **headers}
    if sock is not None:
        environ["werkzeug.socket"] = sock
    return {key: value for key, value in environ.items() if value is not None}


def _wsproto_answer(environ: dict) -> bytes:
    """What simple-websocket's own handshake writes for this environ (its request text through wsproto and h11)."""
    ws = WSConnection(ConnectionType.SERVER)
    text = b"GET / HTTP/1.1\r\n"
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            text += f"{'-'.join(p.capitalize() for p in key[5:].split('_'))}: {value}\r\n".encode()
    ws.receive_data(text + b"\r\n")
    (request,) = [event for event in ws.events() if isinstance(event, Request)]
    return ws.send(AcceptConnection(subprotocol=None, extensions=[PerMessageDeflate()]))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_CONNECTION": "keep-alive, Upgrade"},
        {"HTTP_UPGRADE": "WebSocket", "HTTP_CONNECTION": "upgrade"},
        {"HTTP_HOST": "learnpulse.example.org", "HTTP_ORIGIN": "https://learnpulse.example.org"},
        {"HTTP_SEC_WEBSOCKET_KEY": "x"},  # wsproto does not check the key's form, nor do we
    ],
)
def test_a_plain_upgrade_gets_the_bytes_wsproto_writes(headers: dict) -> None:
    for _ in range(20):
        environ = _environ(**headers)
        assert accept_response(environ) == _wsproto_answer(environ)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_WEBSOCKET_PROTOCOL": "chat"},
        {"HTTP_SEC_WEBSOCKET_EXTENSIONS": "permessage-deflate"},
        {"HTTP_SEC_WEBSOCKET_VERSION": "12"},
        {"HTTP_SEC_WEBSOCKET_VERSION": None},
        {"HTTP_SEC_WEBSOCKET_KEY": None},
        {"HTTP_HOST": None},
        {"HTTP_HOST": "xn--zz"},  # not IDNA: wsproto raises, so the library's round must say how
        {"HTTP_CONNECTION": "keep-alive"},
        {"HTTP_UPGRADE": "h2c"},
        {"HTTP_USER_AGENT": "caf\u00e9"},
        {"HTTP_TRANSFER_ENCODING": "chunked"},
        {"REQUEST_METHOD": "POST"},
    ],
)
def test_anything_else_is_left_to_the_library(headers: dict) -> None:
    assert accept_response(_environ(**headers)) is None


@pytest.mark.parametrize("direct", [True, False])
def test_the_socket_then_speaks_as_after_the_librarys_handshake(direct: bool, monkeypatch) -> None:
    """Both paths: the same 101, then a client's text message is received and its close answered with a close; a
    plain upgrade never runs the library's round."""
    if direct:
        monkeypatch.setattr(simple_websocket.Server, "handshake", lambda self: pytest.fail("the h11 round ran"))
    server_side, client_side = socket.socketpair()
    extra = {} if direct else {"HTTP_SEC_WEBSOCKET_PROTOCOL": "chat"}  # the library's round (no subprotocol chosen)
    environ = _environ(server_side, **extra)
    try:
        ws = Server(environ)
        head = client_side.recv(4096)
        assert head == _wsproto_answer(environ)
        client = Connection(ConnectionType.CLIENT)  # the client's frames, past its own side of the handshake
        client_side.sendall(client.send(TextMessage(data='{"type": "ping"}')))
        assert ws.receive(timeout=5) == '{"type": "ping"}'
        ws.send("pong")
        client_side.sendall(client.send(CloseConnection(code=1000)))
        with pytest.raises(simple_websocket.ConnectionClosed):
            while ws.receive(timeout=5) is not None:
                pass
        kinds: list[str] = []
        client_side.settimeout(5)
        while "CloseConnection" not in kinds:  # the reply and the close may come in two reads
            data = client_side.recv(4096)
            if not data:
                break
            client.receive_data(data)
            kinds += [type(event).__name__ for event in client.events()]
        assert kinds == ["TextMessage", "CloseConnection"]
    finally:
        client_side.close()
        server_side.close()


def test_a_host_wsproto_cannot_read_fails_as_it_did() -> None:
    server_side, client_side = socket.socketpair()
    try:
        with pytest.raises(UnicodeError):
            Server(_environ(server_side, HTTP_HOST="xn--zz"))
    finally:
        client_side.close()
        server_side.close()
