"""Abuse limits and security headers: request size, message rate per conversation, sockets per address, CSP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

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


def install_http_guards(app: FastAPI, settings: Settings) -> None:
    csp = content_security_policy(settings)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            from fastapi.responses import JSONResponse

            return JSONResponse(
                error_body(413, "too_large", f"request bodies are limited to {settings.max_body_bytes} bytes"),
                status_code=413,
            )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if not request.url.path.startswith(UNGUARDED_PATHS):
            response.headers.setdefault("Content-Security-Policy", csp)
        return response
