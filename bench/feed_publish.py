"""Publishing cost with global ids: `services.publisher.publish` (one Lua call per 500 messages: one
id per message, appended under it to each watched channel's stream, published on each with the
channel list) against a floor measured in the same run on the same Redis: a pipeline doing what any
publisher must (XADD with an id Redis picks, then PUBLISH, per channel), with no id shared across
channels, no watch check and no channel list.

    .venv/bin/python bench/feed_publish.py --redis-url redis://127.0.0.1:6379/9 [--messages 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.channels import PUBSUB_PREFIX, STREAM_KEY, STREAM_MAXLEN, watch  # noqa: E402
from services.publisher import publish  # noqa: E402

DATA = {"learner": "L1", "events": [{"id": "e1", "kind": "activity", "occurred_at": "2026-01-05T10:00:00Z"}]}


def floor(client: redis.Redis, channels: list[str], messages: int) -> float:
    """Messages per second with plain pipelined XADD + PUBLISH on every channel."""
    started = time.perf_counter()
    for start in range(0, messages, 500):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(500, messages - start)):
            for channel in channels:
                body = json.dumps({"type": "activity", "channel": channel, "data": DATA})
                pipe.xadd(STREAM_KEY.format(channel), {"m": body}, maxlen=STREAM_MAXLEN, approximate=True)
                pipe.publish(PUBSUB_PREFIX + channel, body)
        pipe.execute()
    return messages / (time.perf_counter() - started)


def ours(client: redis.Redis, channels: list[str], messages: int) -> float:
    started = time.perf_counter()
    for start in range(0, messages, 500):
        publish(client, [("activity", channels, DATA) for _ in range(min(500, messages - start))])
    return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis_url)
    print("| channels per message | publish() msg/s | floor msg/s | ratio |\n| --- | --- | --- | --- |")
    for width in (1, 3):
        channels = [f"bench:feed:{width}:{k}" for k in range(width)]
        watch(client, channels, seconds=600)
        rates = []
        for measure in (floor, ours, floor, ours):  # interleaved: load drifts on a shared machine
            rates.append(measure(client, channels, args.messages))
        base, mine = max(rates[0], rates[2]), max(rates[1], rates[3])
        print(f"| {width} | {mine:,.0f} | {base:,.0f} | {mine / base:.2f} |")
        client.delete(*[STREAM_KEY.format(c) for c in channels])


if __name__ == "__main__":
    main()
