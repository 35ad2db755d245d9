"""Celery settings. The broker URL comes from REDIS_URL (set in worker.celery_init_app).

Why each reliability setting is set:
- task_acks_late: a task is acknowledged after it ran, so a worker that dies mid-task
  does not lose it; our tasks are idempotent (they recompute, they do not increment).
- task_reject_on_worker_lost: with acks_late, a task whose worker process was killed is
  requeued instead of being marked failed.
- worker_prefetch_multiplier = 1: a worker holds only the task it runs, so a long task
  does not keep others waiting behind it on a busy process.
- visibility_timeout: Redis redelivers an unacknowledged task after this long; it must
  exceed the longest task (evaluations take seconds), or a slow task runs twice.
- broker_connection_retry_on_startup: a worker started before Redis waits for it.
- task_publish_retry_policy: the API gives up publishing quickly when Redis is down
  (the events are stored; a later sweep picks the learners up) instead of hanging a request.
"""

from celery.schedules import crontab

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

task_ignore_result = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_send_task_events = True  # Flower shows live task state
broker_transport_options = {"visibility_timeout": 3600}
broker_connection_retry_on_startup = True
task_publish_retry = True
task_publish_retry_policy = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# The whole periodic schedule (run exactly one beat). `expires` drops a run that missed its
# window instead of letting late runs pile up; each sweep also claims its window in Redis, so a
# second beat started by mistake does no double work.
beat_schedule = {
    "performance-monitoring": {
        "task": "learnpulse.monitoring.sweep",
        "schedule": 15 * 60,
        "args": ("performance",),
        "options": {"expires": 14 * 60},
    },
    "engagement-monitoring": {
        "task": "learnpulse.monitoring.sweep",
        "schedule": 60 * 60,
        "args": ("engagement",),
        "options": {"expires": 55 * 60},
    },
    "velocity-analysis": {
        "task": "learnpulse.monitoring.sweep",
        "schedule": 6 * 60 * 60,
        "args": ("velocity",),
        "options": {"expires": 5 * 60 * 60},
    },
    "daily-analytics": {
        "task": "learnpulse.analytics.daily",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 3 * 60 * 60},
    },
    "alert-cleanup": {
        "task": "learnpulse.alerts.cleanup",
        "schedule": crontab(hour=3, minute=30, day_of_week="sunday"),
        "options": {"expires": 6 * 60 * 60},
    },
    "presence-check": {  # a new deployment or a Redis that lost the set: live_now trusted again within minutes
        "task": "learnpulse.presence.check",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "webhook-retry-overdue": {
        "task": "learnpulse.webhooks.retry_overdue",
        "schedule": 5 * 60,
        "options": {"expires": 4 * 60},
    },
    "webhook-log-cleanup": {
        "task": "learnpulse.webhooks.cleanup",
        "schedule": crontab(hour=3, minute=45, day_of_week="sunday"),
        "options": {"expires": 6 * 60 * 60},
    },
    "daily-digest": {
        "task": "learnpulse.notifications.digest",
        "schedule": crontab(hour=6, minute=0),
        "args": ("daily",),
        "options": {"expires": 3 * 60 * 60},
    },
    "weekly-digest": {
        "task": "learnpulse.notifications.digest",
        "schedule": crontab(hour=6, minute=30, day_of_week="monday"),
        "args": ("weekly",),
        "options": {"expires": 6 * 60 * 60},
    },
}
