"""The one message envelope every live message uses, as a type: encoded, spliced and parsed here only.

    {"id": "<global id>", "type": "...", "channel": "...", "timestamp": "ISO-8601 UTC", "data": {...},
     "channels": ["...", ...]}

`id` is global: one message published to several channels has the same id on each, and it is also the
message's stream id on every one of them (so a per-channel resume point is still an id of that
channel's stream), and ids of all messages are in one order. `channel` is the channel this copy came
through; `channels` every channel the message was appended to (a client advances its resume point of
each one it follows). Published messages are encoded once WITHOUT their id (Redis assigns it inside
the publishing script); the id is then spliced in as the first field, by the Lua publisher for live
delivery (`LUA_SPLICE`, which must produce exactly what `with_id` does) and by `with_id` for stream
backlogs. Because `id` comes first and `type` second, readers take both without decoding the whole
message, and `channels` comes last for the same reason. Control messages (errors, pongs, resync) are
not in any stream: their id is null.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ID_PREFIX = '{"id":"'
TYPE_MARKER = '","type":"'
CHANNELS_MARKER = ',"channels":'
# Lua twin of `body_without_id` (head, tail: `envelope_parts`; channel_json and channels_json: the JSON
# of the channel name and of the list, encoded by Python so both writings agree byte for byte).
LUA_BODY = "'{' .. head .. ',\"channel\":' .. channel_json .. ',' .. tail .. ',\"channels\":' .. channels_json .. '}'"
# Lua twin of `with_id` (body is the encoding without id, id the global id); used by services.publisher.
LUA_SPLICE = "'{\"id\":\"' .. id .. '\",' .. string.sub(body, 2)"


def dumps(value: Any) -> str:
    """Compact JSON, the one encoding of every part of an envelope."""
    return json.dumps(value, separators=(",", ":"))


def envelope_parts(kind: str, data_json: str, timestamp: str = "") -> tuple[str, str]:
    """The parts of an envelope shared by all its channels: `"type":..` and `"timestamp":..,"data":..`."""
    return f'"type":{dumps(kind)}', f'"timestamp":{dumps(timestamp or now_iso())},"data":{data_json}'


def body_without_id(head: str, tail: str, channel_json: str, channels_json: str) -> str:
    """One channel's copy of a message before its id: what the stream stores (Python twin of LUA_BODY)."""
    return "{" + head + ',"channel":' + channel_json + "," + tail + CHANNELS_MARKER + channels_json + "}"


@dataclass(frozen=True)
class Envelope:
    """A live message before it has an id."""

    type: str
    channel: str | None
    data: dict[str, Any]
    timestamp: str = ""
    channels: Sequence[str] = ()

    def encode_without_id(self, data_json: str | None = None) -> str:
        """The envelope without its id; `channels` defaults to the one channel."""
        head, tail = envelope_parts(self.type, data_json if data_json is not None else dumps(self.data), self.timestamp)
        channels = list(self.channels) or ([self.channel] if self.channel else [])
        return body_without_id(head, tail, dumps(self.channel), dumps(channels))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def with_id(message_id: str, encoded_without_id: str) -> str:
    """Splice the id in as the first field (as the Lua publisher does live)."""
    return ID_PREFIX + message_id + '",' + encoded_without_id[1:]


def control(kind: str, data: dict[str, Any], channel: str | None = None) -> str:
    """A message that is not part of any stream: its id is null."""
    return json.dumps({"id": None, "type": kind, "channel": channel, "timestamp": now_iso(), "data": data})


def control_text(kind: str, data_json: str, channel: str | None = None) -> str:
    """`control(kind, data, channel)` for `data` already encoded (`data_json` is `json.dumps(data)`): the same text."""
    return (
        f'{{"id": null, "type": {json.dumps(kind)}, "channel": {json.dumps(channel)}, '
        f'"timestamp": {json.dumps(now_iso())}, "data": {data_json}}}'
    )


def envelope_id(raw: str) -> str:
    """The id of a published message without decoding it: `id` is always written first."""
    if not raw.startswith(ID_PREFIX):
        raise ValueError("published message does not start with its id")
    return raw[len(ID_PREFIX) : raw.index('"', len(ID_PREFIX))]


def envelope_type(raw: str) -> str:
    """The `type` of a published envelope; it is written right after the id."""
    start = raw.find(TYPE_MARKER)
    if start < 0:  # not written by our publisher: decode it
        try:
            return str(json.loads(raw).get("type", ""))
        except (ValueError, AttributeError):
            return ""
    start += len(TYPE_MARKER)
    return raw[start : raw.find('"', start)]


def envelope_channels(raw: str, channel: str) -> tuple[str, ...]:
    """Every channel a published message went to, read from its last field (`channel` alone if it has
    none). The last `,"channels":` is the field itself: inside JSON strings a quote is always escaped."""
    start = raw.rfind(CHANNELS_MARKER)
    if start < 0:
        return (channel,)
    try:
        names = json.loads(raw[start + len(CHANNELS_MARKER) : -1])
    except ValueError:
        return (channel,)
    return tuple(names) if isinstance(names, list) and channel in names else (channel,)
