"""Abuse limits and security headers.

Every limit is keyed on what a client cannot choose — its address (the connecting one, or the one a trusted
proxy forwarded) — as well as on the conversation: messages per conversation and per address, new
conversations and hand-over requests per address, turns in flight per address, login attempts per address and
failures per account, open sockets per address. Request bodies are counted as they arrive, so a chunked body
without Content-Length is cut off at the limit too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.errors import error_body
from bot.errors import RateLimited
from bot.messages import ErrorCopy
from bot.settings import Settings

CONSOLE_PATHS = ("/agent",)  # never framed by anyone
PENALISED_PATHS = ("/api/chat", "/api/feedback")


def client_address(conn: HTTPConnection) -> str:
    """The client's address. Behind a reverse proxy listed in FAQBOT_TRUSTED_PROXIES, uvicorn has already put
    the forwarded address here; a client cannot choose it by sending headers of its own."""
    return conn.client.host if conn.client else "unknown"


class Guards:
    """Rate limits (the `limits` library: in memory, or Redis shared by several workers), turns in flight and
    open sockets per address (per process)."""

    def __init__(self, settings: Settings, errors: ErrorCopy) -> None:
        self.settings = settings
        self.errors = errors  # what a refused person reads (knowledge/messages.yaml); a reload swaps it
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.message_rate = parse(f"{settings.messages_per_minute}/minute")
        self.address_message_rate = parse(f"{settings.messages_per_minute_per_address}/minute")
        self.new_conversation_rate = parse(f"{settings.conversations_per_minute_per_address}/minute")
        self.handoff_rate = parse(f"{settings.handoffs_per_hour_per_address}/hour")
        self.search_rate = parse(f"{settings.searches_per_minute_per_address}/minute")
        self.login_rates = parse_many(settings.login_limits_per_address)
        self.failure_rates = parse_many(settings.login_failures_per_address)  # one account from one address
        self.account_failure_rates = parse_many(settings.login_failures_per_account)  # from everywhere
        self.max_sockets = settings.connections_per_ip
        self.sockets: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        # addresses over their message budget, until when: their next messages are refused before any parsing
        self.penalty: dict[str, tuple[float, str]] = {}

    def _wait(self, limit: RateLimitItem, *keys: str) -> int:
        """Seconds until ``limit`` admits another hit for ``keys``."""
        stats = self.limiter.get_window_stats(limit, *keys)
        return int(stats.reset_time - time.time()) + 1

    def _hit(self, limit: RateLimitItem, namespace: str, key: str, message: str, address: str | None = None) -> None:
        if not self.limiter.hit(limit, namespace, key):
            wait = self._wait(limit, namespace, key)
            if address is not None:
                self._penalise(address, wait, message)
            raise RateLimited(message, wait)

    def _penalise(self, address: str, seconds: int, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self.penalty) > 10_000:  # bounded: expired entries go first
                self.penalty = {a: p for a, p in self.penalty.items() if p[0] > now}
            self.penalty[address] = (now + min(seconds, 60), message)

    def penalised(self, address: str) -> tuple[int, str] | None:
        """(seconds left, why) while ``address`` is over a per-address budget, else None."""
        entry = self.penalty.get(address)
        if entry is None:
            return None
        left = entry[0] - time.monotonic()
        if left <= 0:
            self.penalty.pop(address, None)
            return None
        return int(left) + 1, entry[1]

    # ------------------------------------------------------------------ chat

    def check_message(self, conversation_id: str, address: str) -> None:
        """One more message from this conversation and this address, or :class:`RateLimited`. An address over its
        budget is refused at the door (HttpGuard) until the budget frees up."""
        s, say = self.settings, self.errors.say
        self._hit(self.message_rate, "message", conversation_id,
                  say("messages_per_conversation", limit=s.messages_per_minute))  # fmt: skip
        self._hit(self.address_message_rate, "message-address", address,
                  say("messages_per_address", limit=s.messages_per_minute_per_address), address)  # fmt: skip

    def check_new_conversation(self, address: str) -> None:
        limit = self.settings.conversations_per_minute_per_address
        self._hit(self.new_conversation_rate, "conversation", address,
                  self.errors.say("conversations_per_address", limit=limit))  # fmt: skip

    def check_search(self, address: str) -> None:
        """A FAQ search costs an encoder run on the engine's thread, like a chat message."""
        why = self.errors.say("searches_per_address", limit=self.settings.searches_per_minute_per_address)
        self._hit(self.search_rate, "search", address, why, address)

    def allow_handoff(self, address: str) -> bool:
        """One more hand-over request from this address may enter the agents' queue."""
        return bool(self.limiter.hit(self.handoff_rate, "handoff", address))

    @contextmanager
    def turn(self, address: str) -> Iterator[None]:
        """A turn being answered for ``address``; more than a few at once are refused, so one address cannot
        queue up the engine in front of everybody else."""
        with self._lock:
            if self.in_flight[address] >= self.settings.turns_in_flight_per_address:
                raise RateLimited(self.errors.turn_in_flight, 1)
            self.in_flight[address] += 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight[address] -= 1
                if self.in_flight[address] <= 0:
                    del self.in_flight[address]

    # ------------------------------------------------------------------ console login

    def check_login_address(self, address: str) -> None:
        """Counts a login attempt against the address; refuses beyond its allowance."""
        for limit in self.login_rates:
            if not self.limiter.hit(limit, "login", address):
                raise RateLimited(self.errors.logins_per_address, self._wait(limit, "login", address))

    def _failure_limits(self, username: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        pair = ("login-failure", username, address)
        return [(limit, pair) for limit in self.failure_rates] + [
            (limit, ("login-failure-all", username)) for limit in self.account_failure_rates
        ]

    def check_login_account(self, username: str, address: str) -> None:
        """Refuses while this address backs off from this account after failed logins — or, under a distributed
        attack, everyone does. One guesser cannot lock the account's owner out from elsewhere."""
        for limit, keys in self._failure_limits(username, address):
            if not self.limiter.test(limit, *keys):
                raise RateLimited(self.errors.logins_per_account, self._wait(limit, *keys))

    def login_failed(self, username: str, address: str) -> None:
        for limit, keys in self._failure_limits(username, address):
            self.limiter.hit(limit, *keys)

    def login_succeeded(self, username: str, address: str) -> None:
        for limit in self.failure_rates:
            self.limiter.clear(limit, "login-failure", username, address)

    # ------------------------------------------------------------------ sockets

    def open_socket(self, address: str) -> bool:
        with self._lock:
            if self.sockets[address] >= self.max_sockets:
                return False
            self.sockets[address] += 1
            return True

    def close_socket(self, address: str) -> None:
        with self._lock:
            self.sockets[address] -= 1
            if self.sockets[address] <= 0:
                del self.sockets[address]


def content_security_policy(settings: Settings, framed_by_widget_origins: bool = True) -> str:
    origins = [o for o in settings.allowed_origins if o != "*"] if framed_by_widget_origins else []
    ancestors = " ".join(["'self'", *origins]) if framed_by_widget_origins else "'none'"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        f"connect-src 'self' ws: wss:; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )


class HttpGuard:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request): refuses bodies over the limit
    with 413 — counting the bytes as they arrive, so a chunked body or a lying Content-Length is cut off at the
    limit instead of being read whole — and adds the security headers."""

    def __init__(self, app: ASGIApp, settings: Settings, guards: Guards) -> None:
        self.app = app
        self.guards = guards
        self.max_body = settings.max_body_bytes
        self.timeout = settings.request_timeout_seconds
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        self.csp = (b"content-security-policy", content_security_policy(settings).encode())
        self.console_csp = (b"content-security-policy", content_security_policy(settings, False).encode())

    def _too_large(self) -> JSONResponse:
        body = error_body(413, "too_large", self.guards.errors.say("body_too_large", limit=self.max_body))
        return JSONResponse(body, status_code=413, headers={"Connection": "close"})

    def _too_slow(self) -> JSONResponse:
        body = error_body(408, "timeout", self.guards.errors.say("body_too_slow", seconds=f"{self.timeout:g}"))
        return JSONResponse(body, status_code=408, headers={"Connection": "close"})

    async def _read_body(self, receive: Receive) -> list[Message] | None:
        """The whole body, as the messages it came in; None once it passes the limit (the rest is not read)."""
        received, size = [], 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                return received  # the client went away
            size += len(message.get("body", b""))
            if size > self.max_body:
                return None
            if not message.get("more_body", False):
                return received

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] in PENALISED_PATHS and scope.get("client"):
            penalty = self.guards.penalised(scope["client"][0])
            if penalty is not None:  # an address already over its budget is refused before anything is parsed
                seconds, why = penalty
                refused = JSONResponse(error_body(429, "rate_limited", why), status_code=429,
                                       headers={"Retry-After": str(seconds)})  # fmt: skip
                await refused(scope, receive, send)
                return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._too_large()(scope, receive, send)
            return
        if length not in (None, b"0") or b"transfer-encoding" in headers:
            try:  # a body that trickles in would hold the connection (and its buffer) for good
                async with asyncio.timeout(self.timeout):
                    body = await self._read_body(receive)
            except TimeoutError:
                await self._too_slow()(scope, receive, send)
                return
            if body is None:
                await self._too_large()(scope, receive, send)
                return
            replay = iter(body)

            async def receive_buffered() -> Message:
                return next(replay, None) or await receive()

            receive = receive_buffered
        path = str(scope["path"])
        extra = list(self.headers)
        # (the API doc pages send their own policy, which allows their inline script by its hash: a header the
        # response already has is kept)
        if path.startswith(CONSOLE_PATHS):
            extra += [self.console_csp, (b"x-frame-options", b"DENY")]
        else:
            extra.append(self.csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_http_guards(app: FastAPI, settings: Settings, guards: Guards) -> None:
    app.add_middleware(HttpGuard, settings=settings, guards=guards)
