"""Worker and beat entry point: `celery -A worker.main worker` / `celery -A worker.main beat`."""

import gc

from api.entrypoint import app_for_process

flask_app = app_for_process()
celery_app = flask_app.extensions["celery"]
import worker.notification_tasks  # noqa: E402,F401
import worker.tasks  # noqa: E402,F401  (registers the shared tasks with celery_app)

# What start-up built (modules, the app, mappers: ~270,000 objects) lives as long as the process; the pool
# processes are forked from here and inherit it frozen, so a full collection skips it. Unfrozen, a sweep
# shard's survivors set off one every few shards, each re-walking all of it (100-300 ms; 7 ms frozen).
gc.freeze()
