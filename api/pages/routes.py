"""Thin page views: check who is asking and what they may see (the REST rules), render a shell.

The data on every page comes from the same REST endpoints any client uses (the page's JavaScript
calls them with the session cookie and its CSRF token), so a page and its JSON twin never disagree.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from api.access import readable_learner
from api.auth.guard import Principal, authenticate, session_principal
from api.auth.session import BrowserSession, csrf_ok, end_session, read_session, start_session
from api.auth.tokens import issue_token
from api.errors import ApiError, error_response
from api.pages import bp
from api.pages.security import safe_next
from models import User, db
from services.sweeps import sweep_status

PAGE_ROLES = ("learner", "educator", "admin")
# Endpoints that answer with HTML for people (not part of the OpenAPI document).
HTML_PAGES = frozenset(
    f"pages.{name}" for name in ("login", "logout", "signin_help", "home", "dashboard", "learner_page")
)
WS_TOKEN_TTL = 300  # seconds; the page re-authenticates its socket with a fresh one before this ends


def _error_page(status: int, title: str, message: str, **extra) -> ResponseReturnValue:
    return render_template("error.html", status=status, title=title, message=message, **extra), status


@bp.errorhandler(ApiError)
def page_error(error: ApiError) -> ResponseReturnValue:
    """Refusals on pages are pages: a 404 never says whether the thing exists."""
    if error.status == 404:
        return _error_page(404, "Not found", "There is nothing here that you can see.")
    if error.status == 401:
        return _error_page(401, "Please sign in again", error.message, signin=True)
    return _error_page(error.status, "That did not work", error.message)


@bp.get("/login")
def login() -> ResponseReturnValue:
    """Exchange a token from the sign-in link for a session cookie, then leave the URL (token gone)."""
    token = request.args.get("token", "").strip()
    if not token:
        return _error_page(400, "This sign-in link is incomplete", "The link has no token in it.", signin=True)
    try:
        user, expires_at = authenticate(token)
    except ApiError as exc:
        return _error_page(401, "This sign-in link does not work", exc.message, signin=True)
    if user.role not in PAGE_ROLES:
        return _error_page(403, "No dashboard for this account", "Service accounts use the API, not pages.")
    response = redirect(safe_next(request.args.get("next")), code=302)
    start_session(response, user.external_id, user.role, expires_at)
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (CSRF-protected, so another site cannot sign you out)."""
    session = read_session()
    if session is not None and not csrf_ok(session):
        return _error_page(403, "Sign-out refused", "The form was not sent by this site. Reload and try again.")
    response = redirect(url_for("pages.signin_help", signed_out=1), code=303)
    end_session(response)
    return response


@bp.get("/signin")
def signin_help() -> ResponseReturnValue:
    """How to get a sign-in link (there are no passwords: your school's platform signs you in)."""
    return render_template("signin.html", signed_out=bool(request.args.get("signed_out")))


@bp.get("/")
def home() -> ResponseReturnValue:
    """The site root goes to your dashboard."""
    return redirect(url_for("pages.dashboard"))


def _signed_in() -> tuple[Principal, BrowserSession] | None:
    session = read_session()
    return None if session is None else (session_principal(session), session)


def _shell(template: str, user: Principal, session: BrowserSession, **context) -> ResponseReturnValue:
    person = db.session.get(User, user.id)
    return render_template(
        template,
        user=user,
        display_name=person.name or person.external_id,
        csrf_token=session.csrf,
        session_expires=int(session.exp),
        flower_url=current_app.config.get("FLOWER_URL") or "",
        live_socket_url=current_app.config.get("LIVE_SOCKET_URL") or "",
        **context,
    )


def _periodic_jobs() -> dict[str, dict[str, Any]] | None:
    """Last run of each periodic sweep (what `flask monitoring status` prints); None if Redis is down."""
    try:
        return sweep_status()
    except redis.RedisError:
        return None


@bp.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    """The signed-in user's own dashboard: learner, educator or admin."""
    signed_in = _signed_in()
    if signed_in is None:
        return redirect(url_for("pages.signin_help", next=request.full_path.rstrip("?")))
    user, session = signed_in
    extra = {"periodic_jobs": _periodic_jobs()} if user.role == "admin" else {}
    return _shell(f"dashboard_{user.role}.html", user, session, **extra)


@bp.get("/dashboard/learners/<external_id>")
def learner_page(external_id: str) -> ResponseReturnValue:
    """One learner in depth: the learner themself, their educators, and admins (REST access rules)."""
    signed_in = _signed_in()
    if signed_in is None:
        return redirect(url_for("pages.signin_help", next=request.path))
    user, session = signed_in
    learner = readable_learner(user, external_id)
    if learner.role != "learner":
        raise ApiError(404, "not a learner")
    return _shell("learner_page.html", user, session, learner=learner)


@bp.post("/session/ws-token")
def ws_token() -> ResponseReturnValue:
    """A short-lived token for the page's WebSocket `auth` message.

    The session cookie is HttpOnly, so page JavaScript cannot read a token from it; rather than
    teach the socket a second way to authenticate, the page asks here (same-origin, CSRF-checked)
    for a bearer token of the session's user, valid for WS_TOKEN_TTL seconds and never past the
    session's end, and re-sends a fresh one on the open socket before it expires.
    """
    session = read_session()
    if session is None:
        return error_response(401, "not signed in, or the session has ended", "invalid_session")
    if not csrf_ok(session):
        return error_response(403, "send the page's CSRF token in the X-CSRF-Token header", "csrf_failed")
    try:
        user = session_principal(session)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.code)
    ttl = max(1, int(min(WS_TOKEN_TTL, session.exp - time.time())))
    token, expires_at = issue_token(current_app.config["SECRET_KEY"], user.external_id, user.role, ttl)
    return {"token": token, "expires_at": expires_at.isoformat(), "expires_in": ttl}
