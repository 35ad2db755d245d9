"""Redis commands of several services sent as one pipeline: one network round trip instead of one each.

Each caller adds its commands and keeps the index of each reply, read after `execute`. Scripts go
as EVALSHA (a pipeline with scripts would otherwise ask SCRIPT EXISTS first, an extra round trip
every time); one that Redis does not know yet (first use, or Redis restarted) is loaded and run alone.
The pipeline only records the commands (redis-py builds their arguments and knows their reply callbacks);
services.redis_wire sends and reads them, without the layers of redis-py's `Pipeline.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from services.redis_wire import run_pipeline


class RoundTrip:
    """One non-transactional pipeline shared by several callers."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.replies: list[Any] = []
        self._pipe: Pipeline = client.pipeline(transaction=False)
        self._reruns: dict[int, Callable[[], Any]] = {}
        self._size = 0

    def add(self, command: Callable[[Pipeline], Any]) -> int:
        """Queue one command (e.g. `lambda p: p.zcount(...)`); returns the index of its reply."""
        command(self._pipe)
        self._size += 1
        return self._size - 1

    def add_script(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> int:
        """Queue a script run; returns the index of its reply."""
        index = self.add(lambda pipe: pipe.evalsha(script.sha, len(keys), *keys, *args))
        self._reruns[index] = lambda: script(keys=list(keys), args=list(args), client=self.client)
        return index

    def execute(self) -> list[Any]:
        """Send everything queued; raises the first error (a RedisError) any command met."""
        if not self._size:
            return self.replies
        replies = run_pipeline(self._pipe)
        for index, reply in enumerate(replies):
            if isinstance(reply, NoScriptError) and index in self._reruns:
                replies[index] = self._reruns[index]()
            elif isinstance(reply, Exception):
                raise reply
        self.replies = replies
        return replies
