"""api/lazy_session.py: Flask's session as Flask's own interface gives it, with or without cookies."""

from __future__ import annotations

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from api.lazy_session import LazySessionInterface


def session_app(interface: SecureCookieSessionInterface) -> Flask:
    app = Flask(__name__)
    app.secret_key = "s" * 40
    app.session_interface = interface

    @app.get("/set")
    def set_value() -> str:
        session["k"] = "v"
        return "set"

    @app.get("/get")
    def get_value() -> str:
        return f"{session.get('k', 'none')} {session.new} {session.modified}"

    return app


def answers(interface: SecureCookieSessionInterface) -> list[str]:
    client = session_app(interface).test_client()
    seen = [client.get("/get").text]  # no Cookie header
    client.set_cookie("unrelated", "1")
    seen.append(client.get("/get").text)
    seen.append(client.get("/set").text)
    seen.append(client.get("/get").text)  # the session cookie and the unrelated one
    client.delete_cookie("unrelated")
    seen.append(client.get("/get").text)  # the session cookie alone
    client.set_cookie("session", "tampered")
    seen.append(client.get("/get").text)
    return seen


def test_the_lazy_session_reads_what_flasks_own_reads():
    expected = answers(SecureCookieSessionInterface())
    assert answers(LazySessionInterface()) == expected
    assert expected[3] == "v False False" and expected[0] == expected[-1] == "none False False"
