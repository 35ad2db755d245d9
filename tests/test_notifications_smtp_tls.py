"""SMTP over TLS against real aiosmtpd servers: smtps (TLS from the first byte) and STARTTLS, with a
self-signed certificate made for the test (openssl), trusted only through SMTP_CA_FILE. Verification of
the certificate and the host name is never off: without the CA file, or for another name, sending fails."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest

from api.config import ConfigError, settings_from_env
from services.notifications.email import SmtpUrlError, message, send, smtp_settings
from tests.notification_servers import Inbox, check_login, start_smtp

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def self_signed(directory: Path, name: str, alt_names: str) -> tuple[Path, Path]:
    """(certificate, key) PEM files of a self-signed certificate for `alt_names` (subjectAltName syntax)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName={alt_names}", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("smtp-tls")
    return {
        "local": self_signed(directory, "learnpulse-test-smtp", "IP:127.0.0.1,DNS:localhost"),
        "elsewhere": self_signed(directory, "mail.elsewhere.test", "DNS:mail.elsewhere.test"),
    }


def server_context(cert_and_key: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_and_key)
    return context


def one_mail() -> list:
    return [message("ops@school.example", "TLS check", "text body", "<p>html body</p>")]


def smtps_server(inbox: Inbox, cert_and_key: tuple[Path, Path]):
    # aiosmtpd offers AUTH behind auth_require_tls only after its own STARTTLS; this socket is TLS from byte one.
    return start_smtp(
        inbox,
        ssl_context=server_context(cert_and_key),
        authenticator=check_login("mailer", "pw"),
        auth_require_tls=False,
    )


def starttls_server(inbox: Inbox, cert_and_key: tuple[Path, Path]):
    """Refuses mail and login before STARTTLS (530), so a delivered message went over TLS."""
    return start_smtp(
        inbox,
        tls_context=server_context(cert_and_key),
        require_starttls=True,
        authenticator=check_login("mailer", "pw"),
    )


@pytest.mark.parametrize("mode", ["smtps", "starttls"])
def test_mail_goes_out_over_tls_to_a_server_trusted_through_smtp_ca_file(make_app, certificates, mode):
    inbox = Inbox()
    cert, _ = certificates["local"]
    start = smtps_server if mode == "smtps" else starttls_server
    controller, port = start(inbox, certificates["local"])
    url = {
        "smtps": f"smtps://mailer:pw@127.0.0.1:{port}",
        "starttls": f"smtp://mailer:pw@127.0.0.1:{port}?starttls=true",
    }[mode]
    try:
        app = make_app(SMTP_URL=url, SMTP_CA_FILE=str(cert))
        with app.app_context():
            assert send(one_mail()) == 1
        (mail,) = inbox.messages
        assert mail["Subject"] == "TLS check"
    finally:
        controller.stop()


@pytest.mark.parametrize("mode", ["smtps", "starttls"])
def test_an_untrusted_or_misnamed_certificate_is_refused(make_app, certificates, mode):
    """Without SMTP_CA_FILE the self-signed certificate is not trusted; with it, a certificate for another
    host name is still refused. Nothing is sent either way."""
    inbox = Inbox()
    start = smtps_server if mode == "smtps" else starttls_server
    for served, trusted in ((certificates["local"], None), (certificates["elsewhere"], certificates["elsewhere"][0])):
        controller, port = start(inbox, served)
        scheme = "smtps://" if mode == "smtps" else "smtp://"
        query = "" if mode == "smtps" else "?starttls=true"
        app = make_app(SMTP_URL=f"{scheme}mailer:pw@127.0.0.1:{port}{query}", SMTP_CA_FILE=str(trusted or ""))
        try:
            with app.app_context(), pytest.raises(ssl.SSLCertVerificationError):
                send(one_mail())
        finally:
            controller.stop()
    assert inbox.messages == []


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(make_app):
    inbox = Inbox()
    controller, port = start_smtp(inbox)  # plain server: no STARTTLS in its EHLO answer
    try:
        app = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}?starttls=true")
        with app.app_context(), pytest.raises(smtplib.SMTPNotSupportedError):
            send(one_mail())
    finally:
        controller.stop()
    assert inbox.messages == []


@pytest.mark.parametrize(
    "url",
    ["smtp://h?startls=true", "smtp://h?starttls=maybe", "smtp://h?starttls=", "smtps://h?starttls=true"],
)
def test_smtp_url_options_are_checked(url, tmp_path):
    """A misspelt or empty option would otherwise fall back to sending the password in clear text."""
    with pytest.raises(SmtpUrlError):
        smtp_settings(url)
    with pytest.raises(ConfigError, match="SMTP_URL"):
        settings_from_env({"SMTP_URL": url}, tmp_path)


def test_smtp_ca_file_must_hold_certificates(tmp_path, certificates):
    cert, key = certificates["local"]
    assert settings_from_env({"SMTP_CA_FILE": str(cert)}, tmp_path)["SMTP_CA_FILE"] == str(cert)
    assert settings_from_env({}, tmp_path)["SMTP_CA_FILE"] == ""
    for bad in (tmp_path / "missing.pem", key):
        with pytest.raises(ConfigError, match="SMTP_CA_FILE"):
            settings_from_env({"SMTP_CA_FILE": str(bad)}, tmp_path)
