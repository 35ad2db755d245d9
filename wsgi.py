"""WSGI entry point for gunicorn and the `flask` command (found automatically from the repo root)."""

from api.entrypoint import app_for_process

app = app_for_process()
