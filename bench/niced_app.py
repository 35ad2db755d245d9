"""bench/dashboard_open.py's lower-priority dashboards process: the application exactly as wsgi.py builds
it, whose PostgreSQL backends take the web process's own CPU priority as each connection opens.

PostgreSQL has no per-session priority, so without this the database's share of a dashboard open would
run at normal priority beside the live sockets' process. Renicing another user's process needs root
(the bench machine); in production the same separation comes from running the database on its own host.
"""

from __future__ import annotations

import os

from sqlalchemy import event

from bench.web_process import lower_priority
from models import db
from wsgi import app


def _same_priority(connection, _record) -> None:
    """Give the new connection's backend this process's scheduling policy and nice value."""
    cursor = connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    backend = cursor.fetchone()[0]
    cursor.close()
    idle = os.sched_getscheduler(0) == os.SCHED_IDLE
    lower_priority(backend, "idle" if idle else os.getpriority(os.PRIO_PROCESS, 0))


with app.app_context():
    event.listen(db.engine, "connect", _same_priority)
