"""What a process entry point does before building the app: read `.env`, and in the embedded default
make sure a Redis exists (the running `make run` service's, or a private one for this process).

Kept out of create_app, so building an app never starts servers: the factory only wires."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from api import ROOT, create_app, instance_path
from api.config import apply_dotenv
from api.embedded_redis import url_for_process


def prepare_environment() -> None:
    """Load `.env` (the environment wins); embedded mode without REDIS_URL gets an embedded Redis."""
    apply_dotenv(ROOT / ".env")
    if not os.environ.get("DATABASE_URL") and not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = url_for_process(Path(instance_path()))


def app_for_process() -> Flask:
    """The app of a web, worker, beat or CLI process."""
    prepare_environment()
    return create_app()
