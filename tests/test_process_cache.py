"""The per-process caches' one policy: least recently used out first, within the capacity given with each put."""

from __future__ import annotations

import threading

from flask import Flask

from services.process_cache import ProcessCache, process_cache


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = ProcessCache()
    for key in "abc":
        cache.put(key, key.upper(), capacity=3)
    assert cache.get("a") == "A"  # now the most recently used: b is the oldest
    cache.put("d", "D", capacity=3)
    assert (cache.get("b"), cache.get("a"), cache.get("c"), cache.get("d"), len(cache)) == (None, "A", "C", "D", 3)


def test_a_smaller_capacity_applies_at_the_next_put_and_clear_empties() -> None:
    cache = ProcessCache()
    for n in range(10):
        cache.put(n, n, capacity=10)
    cache.put(10, 10, capacity=2)
    assert len(cache) == 2 and cache.get(9) == 9 and cache.get(10) == 10 and cache.get(8) is None
    cache.clear()
    assert len(cache) == 0 and cache.get(9) is None


def test_threads_sharing_a_cache_keep_it_within_capacity() -> None:
    cache = ProcessCache()

    def fill(offset: int) -> None:
        for n in range(2000):
            cache.put((offset, n), n, capacity=50)
            cache.get((offset, n - 1))

    threads = [threading.Thread(target=fill, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_each_app_has_its_own_cache_by_name() -> None:
    first, second = Flask("first"), Flask("second")
    with first.app_context():
        process_cache("kept").put("key", 1, capacity=4)
        assert process_cache("kept").get("key") == 1 and process_cache("other").get("key") is None
    with second.app_context():
        assert process_cache("kept").get("key") is None
