"""Who may use the statements resource: an LRS client with an admin-made HTTP Basic credential, or a
LearnPulse bearer token of the service or admin role. Each gives the statements' `authority`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from api.auth.guard import request_principal
from api.errors import ApiError
from services.xapi.credentials import verify_credential

F = TypeVar("F", bound=Callable)
ROLES = ("service", "admin")


def _basic_authority() -> dict[str, Any]:
    """The authority Agent of a valid Basic credential; 401 otherwise."""
    try:
        decoded = base64.b64decode(request.headers["Authorization"][6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(401, "the Basic credentials are not valid base64 of key:secret", "invalid_credentials") from exc
    key, _, secret = decoded.partition(":")
    credential = verify_credential(key, secret)
    if credential is None:
        raise ApiError(401, "unknown or revoked xAPI credentials", "invalid_credentials")
    home = request.host_url + "xapi/credentials"
    return {"objectType": "Agent", "name": credential.name, "account": {"homePage": home, "name": credential.key}}


def _bearer_authority() -> dict[str, Any]:
    """The authority Agent of a service or admin token (403 for another role)."""
    user = request_principal()
    if user.role not in ROLES:
        raise ApiError(403, f"the xAPI resource is for the {', '.join(ROLES)} role(s), not {user.role}")
    return {"objectType": "Agent", "account": {"homePage": request.host_url, "name": user.external_id}}


def require_xapi_auth(view: F) -> F:
    """Authenticate by Basic credential or bearer token; the authority Agent is kept in g.xapi_authority."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        g.xapi_authority = _basic_authority() if header[:6].lower() == "basic " else _bearer_authority()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
