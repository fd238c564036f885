"""Abuse limits and security headers: request size, message rate per conversation, sockets per address, CSP."""

from __future__ import annotations

from collections import Counter

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.errors import error_body
from bot.settings import Settings

UNGUARDED_PATHS = ("/docs", "/redoc")  # FastAPI's own doc pages load inline scripts


class Guards:
    """Rate limits (the `limits` library: in memory, or Redis for several workers) and the open-socket count."""

    def __init__(self, settings: Settings) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.message_rate = parse(f"{settings.messages_per_minute}/minute")
        self.max_sockets = settings.connections_per_ip
        self.sockets: Counter[str] = Counter()

    def allow_message(self, key: str) -> bool:
        return bool(self.limiter.hit(self.message_rate, "message", key))

    def open_socket(self, address: str) -> bool:
        if self.sockets[address] >= self.max_sockets:
            return False
        self.sockets[address] += 1
        return True

    def close_socket(self, address: str) -> None:
        self.sockets[address] -= 1
        if self.sockets[address] <= 0:
            del self.sockets[address]


def content_security_policy(settings: Settings) -> str:
    ancestors = " ".join(["'self'", *(o for o in settings.allowed_origins if o != "*")])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src 'self' ws: wss:; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )


class HttpGuard:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request): refuses oversized bodies with
    413 and adds the security headers."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        self.csp = (b"content-security-policy", content_security_policy(settings).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            body = error_body(413, "too_large", f"request bodies are limited to {self.max_body} bytes")
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        extra = list(self.headers)
        if not str(scope["path"]).startswith(UNGUARDED_PATHS):
            extra.append(self.csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_http_guards(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(HttpGuard, settings=settings)
