"""Reading channels' bounded Redis streams for clients that resume: backlog after a last id, or since.

Ids are global (services.channels), so a resume point is exact on a channel as long as that channel's
stream still holds some entry at or before it: streams lose entries only from their start (trimming)
or all at once (expiry after an unwatched gap). Each watched stream begins with an empty start entry,
which readers skip.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from api.realtime.protocol import StreamId, parse_stream_id, text_frame
from services.channels import STREAM_KEY, STREAM_MAXLEN
from services.envelope import envelope_channels, envelope_type, with_id


@dataclass(frozen=True)
class Item:
    """One copy of a published message: its id, type, frame as sent live, and every channel it went to."""

    id: StreamId
    kind: str
    frame: bytes
    channels: tuple[str, ...]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def backlog_entries(channel: str, entries: list[tuple[bytes | str, dict]]) -> list[Item]:
    """XRANGE results -> items framed exactly as they were published live (start entries skipped)."""
    out = []
    for raw_id, fields in entries:
        body = fields.get(b"m", fields.get("m"))
        if body is None:
            continue
        envelope = with_id(_text(raw_id), _text(body))
        out.append(
            Item(
                parse_stream_id(_text(raw_id)),
                envelope_type(envelope),
                text_frame(envelope),
                envelope_channels(envelope, channel),
            )
        )
    return out


def read_backlog(client: redis.Redis, channel: str, last_id: str) -> list[Item] | None:
    """Messages after `last_id` on the channel's stream, or None if some may be gone (trimmed, expired,
    or Redis restarted): then the client must refetch. Exact: trimming removes the oldest entries first,
    so if an entry at or before `last_id` is still there, nothing after it was dropped."""
    key = STREAM_KEY.format(channel)
    entries = client.xrange(key, min=last_id, max="+", count=STREAM_MAXLEN * 2)
    if entries and _text(entries[0][0]) == last_id:
        entries = entries[1:]
    else:
        first = client.xrange(key, min="-", max="+", count=1)
        if not first or parse_stream_id(_text(first[0][0])) > parse_stream_id(last_id):
            return None
    return backlog_entries(channel, entries)


def read_since(client: redis.Redis, channel: str, after: str) -> list[Item]:
    """Everything on the channel's stream after `after` (exclusive)."""
    return backlog_entries(
        channel, client.xrange(STREAM_KEY.format(channel), min=f"({after}", max="+", count=STREAM_MAXLEN * 2)
    )


def read_tails(client: redis.Redis, channels: list[str]) -> dict[str, StreamId]:
    """The last id of each channel's stream ((0, 0) for none): where a socket that asks for no backlog
    starts. One round trip for all."""
    pipe = client.pipeline(transaction=False)
    for channel in channels:
        pipe.xrevrange(STREAM_KEY.format(channel), max="+", min="-", count=1)
    return {
        channel: parse_stream_id(_text(top[0][0])) if top else (0, 0) for channel, top in zip(channels, pipe.execute())
    }
