"""Email settings and transport against a real SMTP server (aiosmtpd), and the README's signature check."""

from __future__ import annotations

import re
import smtplib

import pytest

from api.config import ConfigError, settings_from_env
from services.notifications.email import SmtpSettings, SmtpUrlError, message, render, send, smtp_settings
from services.notifications.signing import signature_header
from tests.conftest import repo_root
from tests.notification_servers import Inbox, bodies, check_login, start_smtp


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpSettings("mail.example.org", 25, None, None, False, False)),
        (
            "smtp://u%40x:p%3Aw@mail.example.org:587?starttls=true",
            SmtpSettings("mail.example.org", 587, "u@x", "p:w", False, True),
        ),
        ("smtps://u:p@mail.example.org", SmtpSettings("mail.example.org", 465, "u", "p", True, False)),
    ],
)
def test_smtp_url_forms(url, expected):
    assert smtp_settings(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org:25", "smtp://h:99999"])
def test_a_bad_smtp_url_stops_the_process_at_start(url, tmp_path):
    with pytest.raises(SmtpUrlError):
        smtp_settings(url)
    with pytest.raises(ConfigError, match="SMTP_URL"):
        settings_from_env({"SMTP_URL": url}, tmp_path)


def test_notification_numbers_are_checked(tmp_path):
    assert settings_from_env({"WEBHOOK_MAX_ATTEMPTS": "3"}, tmp_path)["WEBHOOK_MAX_ATTEMPTS"] == 3
    with pytest.raises(ConfigError, match="WEBHOOK_TIMEOUT"):
        settings_from_env({"WEBHOOK_TIMEOUT": "soon"}, tmp_path)
    with pytest.raises(ConfigError, match="WEBHOOK_DISABLE_AFTER"):
        settings_from_env({"WEBHOOK_DISABLE_AFTER": "0"}, tmp_path)


def test_mail_goes_out_with_login_as_text_and_html(make_app):
    inbox = Inbox()
    controller, port = start_smtp(inbox, authenticator=check_login("mailer", "s3cret"), auth_require_tls=False)
    try:
        app = make_app(SMTP_URL=f"smtp://mailer:s3cret@127.0.0.1:{port}", MAIL_FROM="LP <lp@school.example>")
        with app.app_context():
            text, html = render(
                "guardian_digest",
                guardian={"name": "<Pat>", "email": "p@x.org"},
                learner="Amy & Co",
                kind="weekly",
                items={"alerts": [], "recovered": [], "achievements": [{"title": "Streak"}]},
            )
            assert send([message("p@x.org", "Weekly", text, html)]) == 1
        (mail,) = inbox.messages
        got_text, got_html = bodies(mail)
        assert mail["From"] == "LP <lp@school.example>" and mail["Subject"] == "Weekly"
        assert "Hello <Pat>," in got_text and "Amy & Co" in got_text and "- Streak" in got_text
        assert "Hello &lt;Pat&gt;," in got_html and "Amy &amp; Co" in got_html, "HTML is escaped, text is not"
        wrong = make_app(SMTP_URL=f"smtp://mailer:wrong@127.0.0.1:{port}")
        with wrong.app_context(), pytest.raises(smtplib.SMTPAuthenticationError):
            send([message("p@x.org", "Weekly", text, html)])
    finally:
        controller.stop()


def test_the_readme_signature_check_accepts_ours_and_refuses_a_forgery():
    readme = (repo_root() / "README.md").read_text()
    code = re.search(r"### Webhooks.*?```python\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (the documented snippet, run as a reader would)
    body = b'{"id":"1","type":"alert","data":{}}'
    header = signature_header("whsec_k", body)
    assert namespace["verify"]("whsec_k", header, body)
    assert not namespace["verify"]("whsec_k", header, body.replace(b"alert", b"ALERT"))
    assert not namespace["verify"]("whsec_other", header, body)


def test_the_command_line_checks_smtp_and_sends_digests_once_per_period(make_app):
    inbox = Inbox()
    controller, port = start_smtp(inbox)
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}")
    runner = app.test_cli_runner()
    try:
        with app.app_context():
            sent = runner.invoke(args=["notifications", "test-email", "ops@school.example"])
            assert sent.exit_code == 0 and "sent to ops@school.example" in sent.output
            assert inbox.to("ops@school.example")[0]["Subject"] == "LearnPulse test email"
            first = runner.invoke(args=["notifications", "digest", "weekly"])
            assert first.exit_code == 0 and "sent 0 educator and 0 guardian digest(s)" in first.output
            again = runner.invoke(args=["notifications", "digest", "weekly"])
            assert "already sent" in again.output
    finally:
        controller.stop()
    down = runner.invoke(args=["notifications", "test-email", "ops@school.example"])
    assert down.exit_code == 1 and "could not send" in down.output
    off = make_app().test_cli_runner().invoke(args=["notifications", "test-email", "x@y.org"])
    assert off.exit_code == 1 and "SMTP_URL is not set" in off.output
