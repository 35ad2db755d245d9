"""One browser socket: a bounded outbox drained by its own sender, and per-channel resume state.

The Redis subscriber never writes to a socket: it drops messages into each connection's outbox
and moves on, so a slow or dead browser fills only its own outbox and is then dropped.

A message goes to several channels under one global id, and reaches each process once per channel it
follows; a socket gets it once. For each channel it follows, a connection keeps where its delivery of
that channel starts (the client's resume point, or the stream's end when it asked for none) and the
last id delivered on it. Live messages arrive in id order and each channel is delivered in order
without holes, so a message is already delivered exactly when, on one of its channels, it lies
between that start and that last id. While a new channel's backlog is replayed, live messages wait
and are merged into the replay by id, so the order (and this test) holds across replays too.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from dataclasses import replace
from typing import Any

from api.realtime.background import background_thread
from api.realtime.protocol import StreamId, error, text_frame
from api.realtime.raw_socket import close_gracefully, frame_writer, shutdown
from api.realtime.streams import Item
from services.envelope import control

log = logging.getLogger(__name__)

REVOKED_CLOSE_CODE = 4401  # as for an expired token: the client must authenticate again
TOO_SLOW_CLOSE_CODE = 4410  # live messages piled up past WS_QUEUE_SIZE: the client does not read them
REPLY_WAIT_SECONDS = 10.0  # a reply (or backlog) waits this long for room before the client counts as gone
CLOSE_GRACE_SECONDS = 5.0  # a slow client gets this long to take its error and close frame
PENDING_FACTOR = 4  # live messages held during a replay, in WS_QUEUE_SIZEs, before the client counts as slow


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
        self.starts: dict[str, StreamId] = {}  # followed channel -> delivery of it starts after this id
        self.cursors: dict[str, StreamId] = {}  # followed channel -> last id delivered on it (or its start)
        self.replaying = False  # a backlog is being sent: live messages wait in `pending`
        self.last_live: tuple[StreamId, bool] | None = None  # last live id offered, and whether it was sent
        self.pending: list[Item] = []
        self.dropped: str | None = None
        self.user_id: int | None = None  # set once the socket has authenticated
        self.closing = False  # a close is queued: nothing more is queued after it
        self._lock = threading.Lock()
        self._sender = background_thread(self.run_sender, name="ws-sender", daemon=True)

    # --- called by the subscriber -------------------------------------------------------------
    def offer(self, channel: str, item: Item) -> None:
        """Queue a live message (an encoded frame) unless this socket already has it (through another
        channel, or a backlog that overlapped), it precedes where the socket starts, or it is filtered out."""
        with self._lock:
            if channel not in self.starts:
                return
            if self.replaying:
                if self.closing:
                    return
                if len(self.pending) >= PENDING_FACTOR * self.outbox.maxsize:
                    self._too_slow()  # its backlog does not drain while live messages keep coming
                else:
                    self.pending.append(item)
                return
            if self.last_live is not None and self.last_live == (item.id, True):
                self._admit(item, channel)  # another copy of what was just sent: only its channels advance
                return
            admitted = self._admit(item, channel)
            self.last_live = (item.id, admitted)
            if admitted:
                self._queue_message(item.kind, item.frame)

    def _admit(self, item: Item, channel: str) -> bool:
        """Whether the socket should get this message now; either way it now counts as delivered on each
        followed channel it lists (they come in id order, so nothing before it there is missing). Lock held."""
        mine = [name for name in item.channels if name in self.starts]
        if not mine:  # unsubscribed meanwhile
            return False
        # already delivered through one of them (each channel is delivered in order, without holes)
        delivered = any(self.starts[name] < item.id <= self.cursors[name] for name in mine)
        wanted = any(item.id > self.starts[name] for name in mine)  # not before where the socket starts
        for name in mine:
            if item.id > self.cursors[name]:
                self.cursors[name] = item.id
        return wanted and not delivered

    # --- called by the handler ----------------------------------------------------------------
    def hold(self, channels: list[str]) -> None:
        """Start following channels; live messages wait until `release` has sent the backlog."""
        with self._lock:
            self.replaying = True
            for channel in channels:
                self.starts.setdefault(channel, (0, 0))
                self.cursors.setdefault(channel, (0, 0))

    def release(self, starts: dict[str, StreamId], backlog: list[Item]) -> None:
        """Set where each new channel starts, then send the backlog and the live messages held meanwhile,
        merged in id order, each once. The backlog answers the client's own request, so it waits for room
        instead of counting as slow; live messages keep waiting until it is out, then flow again."""
        with self._lock:
            for channel, start in starts.items():
                self.starts[channel] = self.cursors[channel] = start
        items: list[tuple[str, Item]] = [(item.channels[0], item) for item in backlog]
        while True:
            with self._lock:
                held, self.pending = self.pending, []
                if not items and not held:
                    self.replaying = False
                    return
            merged: dict[StreamId, tuple[str, Item]] = {}
            for channel, item in [*items, *((item.channels[0], item) for item in held)]:
                first = merged.setdefault(item.id, (channel, item))[1]
                if first is not item:  # copies of one message: each brings its own channels
                    union = tuple(dict.fromkeys((*first.channels, *item.channels)))
                    merged[item.id] = (merged[item.id][0], replace(first, channels=union))
            for key in sorted(merged):
                channel, item = merged[key]
                with self._lock:
                    admitted = self._admit(item, channel)
                if admitted and (self.types is None or item.kind in self.types):
                    self._reply_frame(item.frame)
            items = []

    def resync(self, channel: str, reason: str) -> None:
        """Tell the client its copy of `channel` may have a hole; resume points there are void."""
        with self._lock:
            if channel not in self.starts:
                return
        self.send(control("resync", {"last_id": None, "reason": reason}, channel))

    def forget(self, channel: str) -> None:
        with self._lock:
            self.starts.pop(channel, None)
            self.cursors.pop(channel, None)

    @property
    def channels(self) -> list[str]:
        with self._lock:
            return sorted(self.starts)

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
