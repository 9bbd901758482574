"""The served app: `streamlit run serve.py` (what `make run`, the browser tests and the PDF export start) runs app.py and
its pages as usual, behind a small guard that Streamlit's own settings (.streamlit/config.toml) cannot express:

- every HTTP request and websocket whose Host is not in `server.allowedHosts` is refused with 403 (Streamlit checks
  only the websocket), so a DNS-rebinding page can read nothing, not even the static files or the health check;
- a websocket from a page of another origin is refused (Streamlit would otherwise ask checkip.amazonaws.com for this
  machine's external address to compare it with that origin);
- `/_stcore/metrics` (sessions, memory, cache sizes; no sign-in) answers 404;
- responses say that no other site may frame the app (clickjacking) and that browsers must not sniff types.

`streamlit run app.py` still works (no guard); AppTest runs the page scripts directly.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config
from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

BLOCKED_PATHS = ("/_stcore/metrics",)
SECURITY_HEADERS = (
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _origin_allowed(origin: str | None) -> bool:
    """No Origin (not a browser) or an Origin whose host is one of server.allowedHosts."""
    if origin is None:
        return True
    host = urlsplit(origin).hostname
    return host is not None and is_host_allowed(host if ":" not in host else f"[{host}]")


class Guard:
    """ASGI middleware: refuse foreign hosts and origins, hide the metrics, add the security headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        base = "/" + config.get_option("server.baseUrlPath").strip("/")
        local = path[len(base.rstrip("/")):] if path.startswith(base.rstrip("/") + "/") else path
        if not is_host_allowed(_header(scope, b"host")):
            return await _refuse(scope, receive, send, 403, "このホスト名では接続できません（server.allowedHosts）。")
        if kind == "websocket" and not _origin_allowed(_header(scope, b"origin")):
            return await _refuse(scope, receive, send, 403, "他のサイトからは接続できません。")
        if kind == "http" and local.rstrip("/") in BLOCKED_PATHS:
            return await _refuse(scope, receive, send, 404, "Not Found")
        if kind == "websocket":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in SECURITY_HEADERS if k not in present)]
            await send(message)
        return await self.app(scope, receive, send_with_headers)


async def _refuse(scope, receive, send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        # closed before the handshake is accepted: the client gets HTTP 403, never "101 Switching Protocols"
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


app = st.App("app.py", middleware=[Middleware(Guard)])
