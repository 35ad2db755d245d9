"""Whether this process runs under gevent's monkey-patching (gunicorn's gevent workers), asked without importing
gevent where it is not in use (Celery's processes, the CLI, gthread workers)."""

from __future__ import annotations

import sys


def gevent_patched(module: str) -> bool:
    """Whether gevent has patched the standard module `module` (e.g. "select", "threading") in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched(module))
