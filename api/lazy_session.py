"""Flask's own session, opened without building its signer when the request carries no session cookie.

Nothing of ours keeps data in Flask's session (browser sign-in is api/auth/session.py's own cookie), yet Flask
opens it on every request, and its SecureCookieSessionInterface builds an itsdangerous serializer before it
even looks for the cookie: ~4% of the web CPU of a small API request. Without the cookie the answer is the
same empty session either way; with one (or without a secret key) Flask's own code decides, as before.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class LazySessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface that skips the serializer when there is no cookie to read."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and (
            not request.environ.get("HTTP_COOKIE")  # no Cookie header: no cookie, without parsing one (~8 us)
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)
