"""Gunicorn settings for the web process, read from the environment.

gevent workers: every open WebSocket holds a greenlet, not an OS thread, so one process keeps
thousands of sockets open; psycopg 3 and redis-py cooperate with gevent once patched.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
# Stock workers with our JSON error shape for the requests gunicorn refuses itself (web_workers.py).
JSON_WORKERS = {"gevent": "web_workers.JsonGeventWorker", "gthread": "web_workers.JsonThreadWorker"}
worker_class = JSON_WORKERS.get(os.environ.get("WEB_WORKER_CLASS", "gevent"), os.environ.get("WEB_WORKER_CLASS"))
# A request line longer than this (method, path and query string) is answered 414 by the worker.
# gunicorn's own default, stated here: our longest legitimate query string (a few filters) is far below.
limit_request_line = int(os.environ.get("WEB_LIMIT_REQUEST_LINE", "4094"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WEB_WORKER_CONNECTIONS", "10000"))
threads = int(os.environ.get("WEB_THREADS", "32"))  # used only with WEB_WORKER_CLASS=gthread
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
wsgi_app = "wsgi:app"
# gunicorn's control socket (for `gunicornc`) defaults to one path per user, so several web processes on
# one host (the tests start many) would replace each other's; we do not use it.
control_socket_disable = True
