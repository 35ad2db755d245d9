"""Fixed-window rate limits for the routes api/rate_limits.py names: one Redis round trip and a few dict reads.

Flask-Limiter did this for us at ~20% of a small ingest request's web CPU beyond its Redis trip: per request it
resolved its limit managers, blueprint and meta exemption scopes, sorted runtime limit objects and window
objects, and ran a before-request pass over every request of the app for default limits we never set. This
keeps exactly what it did for our table:
  * the same counters: limits' items parsed from the same settings (RATE_LIMIT_*), the same Redis keys
    (`LIMITS:LIMITER/learnpulse:ratelimit/<key>/<scope>/<amount>/<multiples>/<granularity>`, so a deploy
    carries the windows over), fixed windows starting at their first hit, several limits in one setting
    checked smallest window first and stopping at the first breached;
  * the same answers: X-RateLimit-Limit/-Remaining/-Reset and Retry-After on every response of a limited
    request (the breached limit's, else the smallest window's), 429 as a werkzeug TooManyRequests with the
    same message (so every blueprint renders it in our JSON error shape, as before);
  * the same failure mode: a storage error is logged and the request served without limits or headers.
One difference, deliberate: a view registered under two endpoints (the progress blueprint's two prefixes)
counted twice per request under Flask-Limiter, which gathered limits by function name; here once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any

from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from werkzeug.exceptions import TooManyRequests
from werkzeug.http import parse_date

log = logging.getLogger(__name__)
WINDOW_ENVIRON_KEY = "learnpulse.rate_limit_window"  # the window this request's headers report


@dataclass(frozen=True)
class Window:
    """One limit's window as this request's hit left it."""

    limit: RateLimitItem
    remaining: int
    reset_at: int  # epoch seconds, as the X-RateLimit-Reset header gives it
    breached: bool


@lru_cache(maxsize=64)
def parsed_limits(value: str) -> tuple[RateLimitItem, ...]:
    """A setting's limits ("100 per minute; 1000 per hour"), smallest window first (ties keep their order)."""
    return tuple(sorted(parse_many(value))) if value else ()


def hit_window(storage: Storage, key: str, expiry: int) -> tuple[int, float]:
    """Count one hit; (count in the window, when the window ends). Our Redis storage does both in one trip."""
    one_trip = getattr(storage, "incr_window", None)
    if one_trip is not None:
        return one_trip(key, expiry)
    return storage.incr(key, expiry), storage.get_expiry(key)


class FixedWindowLimits:
    """The app's rate limiter: wraps views, counts hits, and puts the headers on their responses."""

    def __init__(self, storage: Storage | None, key_prefix: str) -> None:
        self.storage = storage  # None when rate limits are off
        self.key_prefix = key_prefix

    def limit(
        self,
        app: Flask,
        view: Callable,
        setting: str,
        scope: str,
        key_func: Callable[[], str],
        message: Callable[[], str],
    ):
        """The view behind this route's limit: SETTING's limits counted per key_func() within `scope`."""
        call = app.ensure_sync(view)  # once here, not per request

        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            self.check(setting, scope, key_func, message)
            return call(*args, **kwargs)

        return limited

    def check(self, setting: str, scope: str, key_func: Callable[[], str], message: Callable[[], str]) -> None:
        """Count this request; 429 when a limit is exhausted. A failure to count lets the request through."""
        try:
            key = key_func()
            window = self._hit(parsed_limits(current_app.config[setting]), key, scope)
        except Exception:  # noqa: BLE001  (Flask-Limiter's swallow_errors: Redis down serves without limits)
            log.exception("Failed to rate limit. Swallowing error")
            return
        if window is None:
            return
        request.environ[WINDOW_ENVIRON_KEY] = window
        if window.breached:
            log.info("ratelimit %s (%s) exceeded at endpoint: %s", window.limit, key, scope)
            raise TooManyRequests(description=message())

    def _hit(self, items: tuple[RateLimitItem, ...], key: str, scope: str) -> Window | None:
        """Hit each limit in turn, stopping at the first breached; the window the headers report."""
        if not items:
            return None
        if not key:
            log.error("Skipping limit: %s. Empty value found in parameters.", items[0])
            return None
        first = None
        for item in items:
            count, reset = hit_window(self.storage, item.key_for(self.key_prefix, key, scope), item.get_expiry())
            window = Window(item, max(0, item.amount - count), int(reset + 1), count > item.amount)
            if window.breached:
                return window
            first = first or window
        return first

    def add_headers(self, response: Response) -> Response:
        """X-RateLimit-* and Retry-After of the request's window (a later Retry-After already set wins)."""
        window: Window | None = request.environ.get(WINDOW_ENVIRON_KEY)
        if window is None:
            return response
        headers = response.headers
        headers.add("X-RateLimit-Limit", str(window.limit.amount))
        headers.add("X-RateLimit-Remaining", str(window.remaining))
        headers.add("X-RateLimit-Reset", str(window.reset_at))
        reset_at = window.reset_at
        existing = headers.get("Retry-After")
        if existing is not None:
            retry_at = parse_date(existing)
            try:
                later = time.time() + int(existing) if retry_at is None else time.mktime(retry_at.timetuple())
            except ValueError:  # neither a date nor seconds: left as it is, as Flask-Limiter did
                log.exception("Failed to update rate limit headers. Swallowing error")
                return response
            reset_at = max(int(later), reset_at)
        headers["Retry-After"] = str(int(reset_at - time.time()))
        return response


def init_limits(app: Flask, key_prefix: str) -> FixedWindowLimits:
    """The app's limiter, its storage from RATELIMIT_STORAGE_URI (and _OPTIONS); none when limits are off."""
    enabled = app.config.setdefault("RATELIMIT_ENABLED", app.config.get("RATE_LIMITS_ENABLED", True))
    storage = None
    if enabled:
        options = app.config.get("RATELIMIT_STORAGE_OPTIONS", {})
        storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://", **options)
    limits = FixedWindowLimits(storage, key_prefix)
    if enabled:
        app.after_request(limits.add_headers)
    return limits
