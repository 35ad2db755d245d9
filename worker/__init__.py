"""The Celery side: task declarations (tasks.py), sweep fan-out (sweeps.py) and the entry point (main.py)."""
