"""Unbound extension instances, bound to the app in the factory (no circular imports)."""

from flask_migrate import Migrate

from api.websocket_server import Sock
from models import db

migrate = Migrate()
sock = Sock()

__all__ = ["db", "migrate", "sock"]
