"""web_workers.HeadWithBody: a response's head leaves with its body in one send, and nothing is reordered
or lost; then the same through the real gunicorn worker (keep-alive, HEAD, an empty body)."""

from __future__ import annotations

import socket

import pytest

from web_workers import HeadWithBody

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"


class Recorder:
    """A socket that records what is done with it (a send takes at most `room` bytes)."""

    def __init__(self, room: int = 1 << 20) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.room = room

    def sendall(self, data: bytes, *flags: int) -> None:
        self.calls.append(("sendall", bytes(data)))

    def send(self, data: bytes, *flags: int) -> int:
        self.calls.append(("send", bytes(data[: self.room])))
        return min(len(data), self.room)

    def recv(self, size: int) -> bytes:
        self.calls.append(("recv", b""))
        return b""

    def sendfile(self, file, offset=0, count=None) -> int:
        self.calls.append(("sendfile", b""))
        return 0


def test_head_and_body_go_in_one_send():
    sock = Recorder()
    wrapped = HeadWithBody(sock)
    wrapped.sendall(HEAD)
    assert sock.calls == []
    wrapped.sendall(b"{}")
    wrapped.sendall(b"more")  # later writes go as they come
    wrapped.flush()
    assert sock.calls == [("send", HEAD + b"{}"), ("send", b"more")]


def test_a_head_without_body_is_sent_at_the_end():
    sock = Recorder()
    wrapped = HeadWithBody(sock)
    wrapped.sendall(HEAD)
    wrapped.flush()
    wrapped.flush()
    assert sock.calls == [("send", HEAD)]


def test_what_one_send_leaves_goes_by_sendall_in_order():
    sock = Recorder(room=10)
    wrapped = HeadWithBody(sock)
    wrapped.sendall(HEAD)
    wrapped.sendall(b"{}")
    wrapped.sendall(bytearray(b"not bytes"))  # anything but bytes goes to sendall as it is
    assert sock.calls == [("send", HEAD[:10]), ("sendall", HEAD[10:] + b"{}"), ("sendall", b"not bytes")]


def test_any_other_use_of_the_socket_sends_the_held_head_first():
    for use in (lambda w: w.recv(10), lambda w: w.sendfile(None, 0, 10)):
        sock = Recorder()
        wrapped = HeadWithBody(sock)
        wrapped.sendall(HEAD)
        use(wrapped)
        assert [name for name, _ in sock.calls] == ["send", sock.calls[-1][0]] and sock.calls[0][1] == HEAD


def test_only_a_first_write_that_is_a_response_head_is_held():
    sock = Recorder()
    wrapped = HeadWithBody(sock)
    wrapped.sendall(b"raw bytes")
    wrapped.sendall(HEAD)
    assert sock.calls == [("send", b"raw bytes"), ("send", HEAD)]


def _read_head(conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    """A response's head from a keep-alive connection, and what came after it."""
    while b"\r\n\r\n" not in buffer:
        buffer += conn.recv(65536)
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def _read_response(conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes, bytes]:
    """One response (head, body by Content-Length), and what came after it."""
    head, rest = _read_head(conn, buffer)
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    while len(rest) < length:
        rest += conn.recv(65536)
    return head, rest[:length], rest[length:]


@pytest.mark.integration
def test_real_worker_answers_keep_alive_requests_in_order(web):
    host, port = web.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"GET /api/v1/me HTTP/1.1\r\nHost: t\r\n\r\n"
            b"HEAD /api/v1/me HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /api/v1/nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        head, body, rest = _read_response(conn, b"")
        assert head.startswith(b"HTTP/1.1 401") and b'"status":401' in body.replace(b" ", b"")
        head, rest = _read_head(conn, rest)
        assert head.startswith(b"HTTP/1.1 401"), "a HEAD answer: its head, no body"
        head, body, rest = _read_response(conn, rest)
        assert head.startswith(b"HTTP/1.1 404") and b'"status":404' in body.replace(b" ", b"")
        assert rest == b""
