"""Worker and beat entry point: `celery -A worker.main worker` / `celery -A worker.main beat`."""

from api.entrypoint import app_for_process

flask_app = app_for_process()
celery_app = flask_app.extensions["celery"]
import worker.notification_tasks  # noqa: E402,F401
import worker.tasks  # noqa: E402,F401  (registers the shared tasks with celery_app)
