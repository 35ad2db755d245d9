"""WSGI entry point for gunicorn and the `flask` command (found automatically from the repo root)."""

import gc

from api.entrypoint import app_for_process
from api.pg_hub_wait import use_hub_waits

app = app_for_process()
use_hub_waits()  # gunicorn's gevent workers: psycopg waits on gevent's loop (api/pg_hub_wait.py)
# What start-up built (modules, the app, SQLAlchemy's mappers: ~260,000 objects) lives as long as the
# process. Frozen, it is left out of every full collection, which otherwise re-walks all of it whenever a
# large batch leaves enough survivors (about one in five xAPI batches of 1,000: ~100 ms each time).
gc.freeze()
