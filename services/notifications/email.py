"""Email out: an SMTP transport configured by SMTP_URL, and HTML + text bodies rendered from templates.

SMTP_URL: `smtp://user:pass@host:port` (plain, or `?starttls=true` to upgrade), `smtps://...` (TLS from
the start, port 465 by default). Empty: email is off and nothing is queued. TLS always verifies the
server's certificate and host name: against the system's CAs, or only the CAs in SMTP_CA_FILE.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")


class SmtpUrlError(ValueError):
    """SMTP_URL cannot be used (raised at startup, so a typo is found before the first alert)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool  # TLS from the first byte (smtps)
    starttls: bool


def smtp_settings(url: str) -> SmtpSettings:
    """Parse SMTP_URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpUrlError("SMTP_URL must look like smtp://user:pass@host:port or smtps://host:465")
    options = {key: values[-1].lower() for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - {"starttls"})
    if unknown:  # a misspelt ?starttls would otherwise send the password in clear text
        raise SmtpUrlError(f"SMTP_URL has an unknown option {unknown[0]!r} (the only one is ?starttls=true)")
    if options.get("starttls", "false") not in TRUE + FALSE:
        raise SmtpUrlError("SMTP_URL's starttls must be true or false")
    if parts.scheme == "smtps" and options.get("starttls") in TRUE:
        raise SmtpUrlError("SMTP_URL: smtps:// is TLS from the start; ?starttls=true is for smtp://")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise SmtpUrlError(f"SMTP_URL has a bad port: {exc}") from exc
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "smtps",
        starttls=options.get("starttls") in TRUE,
    )


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies the certificate and host name: against the system's CAs, or only
    those in `ca_file` (SMTP_CA_FILE: a private CA, or a test server's self-signed certificate).
    Raises OSError or ssl.SSLError when the file cannot be read as PEM certificates."""
    return ssl.create_default_context(cafile=ca_file or None)


def render(template: str, **context: Any) -> tuple[str, str]:
    """(text, html) bodies of `<template>.txt` and `<template>.html`."""
    return _env.get_template(f"{template}.txt").render(**context), _env.get_template(f"{template}.html").render(
        **context
    )


def message(to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A multipart/alternative message from MAIL_FROM."""
    mail = EmailMessage()
    mail["From"] = current_app.config["MAIL_FROM"]
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="learnpulse")
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


def send(messages: list[EmailMessage]) -> int:
    """Send over one SMTP connection; returns how many were sent. Transport errors propagate, so the
    task fails (and is retried) rather than pretending the mail went out."""
    if not messages:
        return 0
    settings = smtp_settings(current_app.config["SMTP_URL"])
    timeout = current_app.config["SMTP_TIMEOUT"]
    context = tls_context(current_app.config.get("SMTP_CA_FILE"))
    smtp: smtplib.SMTP = (
        smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
        if settings.tls
        else smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    )
    with smtp:
        if settings.starttls:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        for mail in messages:
            smtp.send_message(mail)
    return len(messages)
