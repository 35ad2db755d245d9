"""A small JSON-over-HTTP client for `flask demo simulate` (standard library only, so no new dependency)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class Unreachable(Exception):
    """The server did not answer at all (refused, unknown host, timed out)."""


class JsonClient:
    """Bearer-authenticated JSON requests against one base URL."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout
        self.answered = False  # once the server has answered, a timeout means busy rather than unreachable

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> tuple[int, Any]:
        """Send one request; returns (status, parsed body). HTTP errors are returned, not raised; a timeout
        after the server has answered before is status 0; no answer at all raises Unreachable."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                status, answer = response.status, _parse(response.read())
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, _parse(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError) and self.answered:
                return 0, {"message": f"no answer within {self.timeout:g} s"}  # busy, not gone: an error, go on
            raise Unreachable(f"cannot reach LearnPulse at {self.base_url} ({reason})") from exc
        self.answered = True
        return status, answer


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return {"message": raw[:200].decode(errors="replace")}
