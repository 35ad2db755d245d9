"""What every page response carries: a strict CSP (no inline script), no framing, no sniffing, no
referrer (the sign-in link holds a token), no caching of personal pages; and the open-redirect guard."""

from __future__ import annotations

from flask import Response, current_app, request

from api.pages import bp


def socket_origin(url: str) -> str:
    """The WebSocket form (ws://, wss://) of an http(s) or ws(s) origin."""
    return "ws" + url[4:] if url.startswith("http") else url


def content_security_policy(host: str, live_socket_url: str = "") -> str:
    """Scripts, styles and sockets from this origin only (and the live socket's tier when it is elsewhere);
    nothing may frame the page."""
    tier = f" {socket_origin(live_socket_url)}" if live_socket_url else ""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' ws://{host} wss://{host}{tier}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def apply_page_headers(response: Response) -> Response:
    """Set the security headers of an HTML page (or of a redirect out of /login)."""
    live_socket_url = current_app.config.get("LIVE_SOCKET_URL", "")
    response.headers["Content-Security-Policy"] = content_security_policy(request.host, live_socket_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_request
def page_headers(response: Response) -> Response:
    """Every response of this blueprint, errors included."""
    return apply_page_headers(response)


def safe_next(target: str | None, default: str = "/dashboard") -> str:
    """A same-site path to go to after sign-in; anything that could leave the site gives `default`."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    return target
