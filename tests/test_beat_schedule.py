"""celeryconfig.beat_schedule names only tasks the worker registers, so a misspelt name fails here, not silently
in production (beat would send a task no worker knows)."""

from __future__ import annotations

import celeryconfig
import worker.notification_tasks  # noqa: F401  (registers the shared tasks, as worker.main does)
import worker.tasks  # noqa: F401


def test_every_scheduled_task_is_registered(app):
    registered = set(app.extensions["celery"].tasks)
    scheduled = {name: entry["task"] for name, entry in celeryconfig.beat_schedule.items()}
    assert {name: task for name, task in scheduled.items() if task not in registered} == {}
    assert scheduled["presence-check"] == "learnpulse.presence.check"
