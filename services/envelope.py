"""The one message envelope every live message uses, as a type: encoded, spliced and parsed here only.

    {"id": "<stream id>", "type": "...", "channel": "...", "timestamp": "ISO-8601 UTC", "data": {...}}

Published messages are encoded once WITHOUT their id (the stream assigns it inside Redis); the id is
then spliced in as the first field, by the Lua publisher for live delivery (`LUA_SPLICE`, which must
produce exactly what `with_id` does) and by `with_id` for stream backlogs. Because `id` comes first
and `type` second, readers take both without decoding the whole message. Control messages (errors,
pongs, resync) are not in any stream: their id is null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ID_PREFIX = '{"id":"'
TYPE_MARKER = '","type":"'
# Lua twin of `with_id` (body is the encoding without id, id the stream id); used by services.publisher.
LUA_SPLICE = "'{\"id\":\"' .. id .. '\",' .. string.sub(body, 2)"


@dataclass(frozen=True)
class Envelope:
    """A live message before it has a stream id."""

    type: str
    channel: str | None
    data: dict[str, Any]
    timestamp: str = ""

    def encode_without_id(self, data_json: str | None = None) -> str:
        """`{"type":..,"channel":..,"timestamp":..,"data":..}`; `data_json` reuses an encoding shared by
        several channels (one message fanned out is encoded once)."""
        body = data_json if data_json is not None else json.dumps(self.data, separators=(",", ":"))
        stamp = self.timestamp or now_iso()
        return (
            f'{{"type":{json.dumps(self.type)},"channel":{json.dumps(self.channel)},'
            f'"timestamp":{json.dumps(stamp)},"data":{body}}}'
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def with_id(stream_id: str, encoded_without_id: str) -> str:
    """Splice the stream id in as the first field (as the Lua publisher does live)."""
    return ID_PREFIX + stream_id + '",' + encoded_without_id[1:]


def control(kind: str, data: dict[str, Any], channel: str | None = None) -> str:
    """A message that is not part of any stream: its id is null."""
    return json.dumps({"id": None, "type": kind, "channel": channel, "timestamp": now_iso(), "data": data})


def envelope_id(raw: str) -> str:
    """The stream id of a published message without decoding it: `id` is always written first."""
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
