"""One browser socket: a bounded outbox drained by its own sender, and per-channel resume state.

The Redis subscriber never writes to a socket: it drops messages into each connection's outbox
and moves on, so a slow or dead browser fills only its own outbox and is then dropped.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from typing import Any

from api.realtime.protocol import StreamId, error, text_frame
from api.realtime.raw_socket import close_gracefully, frame_writer, shutdown
from services.envelope import control

log = logging.getLogger(__name__)

REVOKED_CLOSE_CODE = 4401  # as for an expired token: the client must authenticate again
TOO_SLOW_CLOSE_CODE = 4410  # live messages piled up past WS_QUEUE_SIZE: the client does not read them
REPLY_WAIT_SECONDS = 10.0  # a reply (or backlog) waits this long for room before the client counts as gone
CLOSE_GRACE_SECONDS = 5.0  # a slow client gets this long to take its error and close frame


class SerializedSocket:
    """Stands in for the socket under a simple-websocket connection. Two writers share it (our
    sender and the library's ping thread); each frame must go out whole (`sendall`, under a lock),
    or a partial write under back-pressure would interleave frames."""

    def __init__(self, raw: socket.socket) -> None:
        self.raw = raw
        self.lingering = False  # a graceful close is draining the socket: the library must not close it
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            self.raw.sendall(data)
        return len(data)

    def close(self) -> None:
        if not self.lingering:
            self.raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class Connection:
    """Per-socket state. `offer` is called by the process's Redis subscriber; `hold`, `release` and
    `forget` by the socket's own handler; `run_sender` on a thread (a greenlet under gevent) of its own."""

    def __init__(self, ws: Any, queue_size: int, types: frozenset[str] | None = None) -> None:
        self.ws = ws
        self.types = types  # message types this endpoint forwards; None: all
        self.outbox: queue.Queue[bytes | tuple[int, str] | None] = queue.Queue(maxsize=queue_size)  # frames
        self.last_ids: dict[str, StreamId | None] = {}  # followed channel -> last stream id queued
        self.pending: dict[str, list[tuple[StreamId, str, bytes]]] = {}  # channel -> live frames held during replay
        self.dropped: str | None = None
        self.user_id: int | None = None  # set once the socket has authenticated
        self.closing = False  # a close is queued: nothing more is queued after it
        self._lock = threading.Lock()
        self._sender = threading.Thread(target=self.run_sender, daemon=True, name="ws-sender")

    # --- called by the subscriber -------------------------------------------------------------
    def offer(self, channel: str, stream_id: StreamId, kind: str, frame: bytes) -> None:
        """Queue a live message (an encoded frame) unless it was already sent (resume overlap) or
        filtered out."""
        with self._lock:
            held = self.pending.get(channel)
            if held is not None:
                held.append((stream_id, kind, frame))
                return
            if channel not in self.last_ids:
                return
            last = self.last_ids[channel]
            if last is not None and stream_id <= last:
                return
            self.last_ids[channel] = stream_id
            self._queue_message(kind, frame)

    # --- called by the handler ----------------------------------------------------------------
    def hold(self, channel: str) -> None:
        """Start following a channel; live messages wait until `release` has sent the backlog."""
        with self._lock:
            self.pending[channel] = []

    def release(self, channel: str, backlog: list[tuple[StreamId, str, bytes]], resume_from: StreamId | None) -> None:
        """Send the backlog, then the live messages held meanwhile that come after it, in order. The
        backlog answers the client's own request, so it waits for room instead of counting as slow;
        the channel stays held meanwhile, so live messages queue behind it in order."""
        last = resume_from
        for stream_id, kind, frame in backlog:
            if last is None or stream_id > last:
                last = stream_id
                if self.types is None or kind in self.types:
                    self._reply_frame(frame)
        with self._lock:
            for stream_id, kind, frame in self.pending.pop(channel, []):
                if last is None or stream_id > last:
                    last = stream_id
                    self._queue_message(kind, frame)
            self.last_ids[channel] = last

    def resync(self, channel: str, reason: str) -> None:
        """Tell the client its copy of `channel` may have a hole; resume points there are void."""
        with self._lock:
            if channel not in self.last_ids and channel not in self.pending:
                return
            if channel in self.last_ids:
                self.last_ids[channel] = None
        self.send(control("resync", {"last_id": None, "reason": reason}, channel))

    def forget(self, channel: str) -> None:
        with self._lock:
            self.pending.pop(channel, None)
            self.last_ids.pop(channel, None)

    @property
    def channels(self) -> list[str]:
        with self._lock:
            return sorted(set(self.last_ids) | set(self.pending))

    def send(self, raw: str) -> None:
        """Queue a message the server volunteers (resync, ...); never blocks."""
        self._put(text_frame(raw))

    def reply(self, raw: str) -> None:
        """Queue the answer to one of the client's own messages. It waits for room rather than counting
        against the slow-consumer limit: a client that sends requests back to back while reading normally
        is slowed down (its next frame is read once this one is queued), never dropped."""
        self._reply_frame(text_frame(raw))

    def start(self) -> None:
        self._sender.start()

    def close(self, code: int | None = None, reason: str | None = None, wait: float = 5.0) -> None:
        """Flush what is queued, then close the socket (with `code` if given) and stop the sender."""
        item: tuple[int, str] | None = (code, reason or "") if code else None
        try:
            self.outbox.put(item, timeout=wait)
        except queue.Full:
            self.drop("outbox full while closing")
        if self._sender.is_alive():
            self._sender.join(wait)

    def revoke(self) -> None:
        """The user lost access: say so, then close with 4401. Never blocks (the hub's thread calls it)."""
        try:
            self.outbox.put_nowait(text_frame(error("revoked", "access was revoked; sign in again")))
            self.outbox.put_nowait((REVOKED_CLOSE_CODE, "revoked"))
            self.closing = True
        except queue.Full:
            self.drop("revoked")

    def drop(self, reason: str) -> None:
        """Cut a connection that cannot keep up: shutting the socket down unblocks its sender."""
        if self.dropped:
            return
        self.dropped = reason
        log.info("dropping WebSocket client: %s", reason)
        shutdown(self.ws)

    # --- internals ----------------------------------------------------------------------------
    def _queue_message(self, kind: str, frame: bytes) -> None:
        if self.types is None or kind in self.types:
            self._put(frame)

    def _put(self, item: bytes) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(item)
        except queue.Full:
            self._too_slow()

    def _reply_frame(self, frame: bytes) -> None:
        if self.closing:
            return
        try:
            self.outbox.put(frame, timeout=REPLY_WAIT_SECONDS)
        except queue.Full:
            self.drop("does not read its replies")

    def _too_slow(self) -> None:
        """Live messages piled up: discard them, tell the client why and close (4410); if even that cannot
        be delivered in CLOSE_GRACE_SECONDS, cut the socket."""
        self.closing = True
        while True:  # discard what waits (gevent's queue has no bulk clear)
            try:
                self.outbox.get_nowait()
            except queue.Empty:
                break
        reason = f"more than {self.outbox.maxsize} messages waiting"
        log.info("closing a slow WebSocket client: %s", reason)
        self.outbox.put_nowait(text_frame(error("too_slow", f"{reason}: reconnect with your last id to resume")))
        self.outbox.put_nowait((TOO_SLOW_CLOSE_CODE, "too slow"))
        watchdog = threading.Timer(CLOSE_GRACE_SECONDS, lambda: self._sender.is_alive() and self.drop(reason))
        watchdog.daemon = True
        watchdog.start()

    def run_sender(self) -> None:
        """Write queued frames whole (the socket wrapper serializes them with the library's own
        writes: pings, pongs and the close frame)."""
        send = frame_writer(self.ws)
        while True:
            item = self.outbox.get()
            try:
                if item is None or isinstance(item, tuple):
                    if item is not None and not self.dropped:
                        close_gracefully(self.ws, *item)
                    return
                if not self.dropped:
                    send(item)
            except Exception as exc:  # noqa: BLE001  (any socket failure ends this connection)
                self.drop(f"send failed: {type(exc).__name__}")
