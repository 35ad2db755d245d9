"""The WebSocket wire protocol: client requests, server control messages, stream id order.

Server messages share the published envelope {"id", "type", "channel", "timestamp", "data", "channels"};
control messages (`error`, `pong`, `subscribed`, `unsubscribed`, `resync`, `dashboard_initial_data`)
are not stored in a stream, so their `id` is null.

Client messages are JSON objects with a `type`:
  {"type": "auth", "token": "...", "last_id": ...}           first message when no ?token= was given
  {"type": "subscribe", "channel": "learner:L1", "last_id": "1700000000000-0"}   on /ws
  {"type": "subscribe", "channels": ["section:A", "section:B"], "last_id": {"section:A": "..."}}
      several channels in one frame, their backlogs merged in id order (a client resubscribing
      after a reconnect sends this, so what it missed arrives in the order it was published)
  {"type": "unsubscribe", "channel": "learner:L1"}                               on /ws
  {"type": "ping"}                                                              answered by `pong`
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

from api import json_input
from services.envelope import control

CLIENT_TYPES = ("auth", "subscribe", "unsubscribe", "ping")
STREAM_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
MAX_CHANNEL_NAME = 200
MAX_CLIENT_MESSAGE = 16 * 1024  # bytes; a client only ever sends small control messages

StreamId = tuple[int, int]


class ProtocolError(ValueError):
    """A client message the server cannot act on; `field` names what was wrong. `fatal` when the frame is
    not a JSON document within our limits at all: such a client does not speak the protocol."""

    def __init__(self, field: str, reason: str, fatal: bool = False) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.fatal = fatal

    def as_error(self) -> str:
        """The `error` message that tells the client what was wrong."""
        return error("bad_request", self.reason, field=self.field)


def parse_stream_id(value: str) -> StreamId:
    """'1700000000000-3' -> (1700000000000, 3), so ids compare in order (ids are global: across channels too)."""
    match = STREAM_ID.match(value) if isinstance(value, str) else None
    if match is None:
        raise ProtocolError("last_id", "must be a stream id like '1700000000000-0'")
    return int(match.group(1)), int(match.group(2))


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented server-to-client text frame (RFC 6455, 5.2). A published message is
    framed once and the same bytes are written to every socket that follows its channel, instead of
    framing it again per socket. (Connections never negotiate compression, so frames are plain.)"""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def error(code: str, message: str, channel: str | None = None, field: str | None = None) -> str:
    """The one error message shape: a code a program can switch on and a sentence for people."""
    data = {"code": code, "message": message}
    if field:
        data["field"] = field
    return control("error", data, channel)


@dataclass(frozen=True)
class ClientMessage:
    kind: str
    channel: str | None = None
    token: str | None = None
    last_id: str | dict[str, str] | None = None
    channels: tuple[str, ...] = ()


def _last_id(value: Any) -> str | dict[str, str] | None:
    """`last_id` is one id (for every channel), or {channel: id}."""
    if value is None:
        return None
    if isinstance(value, str):
        parse_stream_id(value)
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for stream_id in value.values():
            parse_stream_id(stream_id)
        return dict(value)
    raise ProtocolError("last_id", "must be a stream id or an object mapping channels to stream ids")


def _channel_list(value: Any) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(channel, str) and 0 < len(channel) <= MAX_CHANNEL_NAME for channel in value)
    ):
        raise ProtocolError("channels", "must be a non-empty list of channel names")
    return tuple(dict.fromkeys(value))


def each_channel(message: ClientMessage) -> list[ClientMessage]:
    """A subscribe naming several channels as one request per channel, each with its own resume point."""
    if not message.channels:
        return [message]
    return [
        ClientMessage(message.kind, channel=channel, last_id=last_id_for(message.last_id, channel))
        for channel in message.channels
    ]


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Decode and check one client message; ProtocolError names the offending field."""
    if isinstance(raw, bytes):
        raise ProtocolError("message", "must be a JSON text message, not binary")
    try:
        body = json_input.loads(raw, root="message")  # depth-limited: a deep frame is the client's error
    except json_input.JsonInputError as exc:
        raise ProtocolError(exc.path, exc.reason, fatal=True) from exc
    if not isinstance(body, dict):
        raise ProtocolError("message", "must be a JSON object")
    kind = body.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError("type", f"must be one of {', '.join(CLIENT_TYPES)}")
    if kind == "auth":
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ProtocolError("token", "is required")
        return ClientMessage(kind, token=token, last_id=_last_id(body.get("last_id")))
    if kind == "subscribe" and "channels" in body:
        return ClientMessage(kind, channels=_channel_list(body["channels"]), last_id=_last_id(body.get("last_id")))
    if kind in ("subscribe", "unsubscribe"):
        channel = body.get("channel")
        if not isinstance(channel, str) or not channel or len(channel) > MAX_CHANNEL_NAME:
            raise ProtocolError("channel", "is required (e.g. 'learner:<id>', 'section:<id>', 'admin')")
        return ClientMessage(
            kind, channel=channel, last_id=_last_id(body.get("last_id")) if kind == "subscribe" else None
        )
    return ClientMessage(kind)


def last_id_for(last_id: str | dict[str, str] | None, channel: str) -> str | None:
    """The resume point of one channel. Ids are global (one order for all channels), so one id, the
    last the client received, resumes every channel of a connection whose messages came in id order
    (the named endpoints); a connection on /ws that subscribed at different times sends {channel: id}."""
    if isinstance(last_id, dict):
        return last_id.get(channel)
    return last_id


def parse_query_last_id(raw: str | None) -> str | dict[str, str] | None:
    """?last_id= holds one stream id or a JSON object {channel: id}."""
    if not raw:
        return None
    if raw.startswith("{"):
        try:
            decoded = json_input.loads(raw, root="last_id")
        except json_input.JsonInputError as exc:
            raise ProtocolError("last_id", exc.reason) from exc
        return _last_id(decoded)
    return _last_id(raw)
