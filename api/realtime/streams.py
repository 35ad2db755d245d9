"""Reading a channel's bounded Redis stream for clients that resume: backlog after a last id, or since."""

from __future__ import annotations

import redis

from api.realtime.protocol import StreamId, parse_stream_id, text_frame
from services.channels import STREAM_KEY, STREAM_MAXLEN
from services.envelope import envelope_type, with_id


def backlog_entries(entries: list[tuple[bytes | str, dict]]) -> list[tuple[StreamId, str, bytes]]:
    """XRANGE results -> (stream id, type, frame of the envelope with the id spliced in as published live)."""
    out = []
    for raw_id, fields in entries:
        stream_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
        body = fields.get(b"m", fields.get("m"))
        body = body.decode() if isinstance(body, bytes) else body
        envelope = with_id(stream_id, body)
        out.append((parse_stream_id(stream_id), envelope_type(envelope), text_frame(envelope)))
    return out


def read_backlog(client: redis.Redis, channel: str, last_id: str) -> list[tuple[StreamId, str, bytes]] | None:
    """Messages after `last_id` on the channel's stream, or None if some may be gone (trimmed,
    expired, or Redis restarted): then the client must refetch. The check is exact: the stream
    still holds `last_id` itself only if nothing after it was dropped."""
    entries = client.xrange(STREAM_KEY.format(channel), min=last_id, max="+", count=STREAM_MAXLEN * 2)
    backlog = backlog_entries(entries)
    if not backlog or backlog[0][0] != parse_stream_id(last_id):
        return None
    return backlog[1:]


def read_since(client: redis.Redis, channel: str, after: str) -> list[tuple[StreamId, str, bytes]]:
    """Everything on the channel's stream after `after` (exclusive)."""
    return backlog_entries(client.xrange(STREAM_KEY.format(channel), min=f"({after}", max="+", count=STREAM_MAXLEN * 2))
