"""Worker and beat entry point: `celery -A worker.main worker` / `celery -A worker.main beat`."""

from api import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
import worker.tasks  # noqa: E402,F401  (registers the shared tasks with celery_app)
