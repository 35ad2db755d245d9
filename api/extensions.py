"""Unbound extension instances, bound to the app in the factory (no circular imports)."""

from flask_migrate import Migrate
from flask_sock import Sock

from models import db

migrate = Migrate()
sock = Sock()

__all__ = ["db", "migrate", "sock"]
