"""WSGI entry point for gunicorn and the `flask` command (found automatically from the repo root)."""

from api import create_app

app = create_app()
