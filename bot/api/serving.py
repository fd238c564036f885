"""Running the app under uvicorn with the limits a public server needs: a header-read timeout (uvicorn has
none, so 500 connections that trickle their headers would stay open for good), the keep-alive timeout, the
WebSocket frame size, and client addresses taken from X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.settings import Settings


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing a connection that has not finished its request headers within
    ``seconds`` of connecting (or of starting its next request on a kept-alive connection)."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)


def return_large_blocks_to_the_system(threshold: int = 1 << 20) -> bool:
    """Make glibc serve allocations of ``threshold`` bytes and more with mmap, and give them back when freed.

    By default glibc raises that threshold each time a large block is freed (up to 32 MiB), after which a burst
    of 19 MiB password hashes — or any large buffer — stays in the heap as resident memory for good. Setting it
    explicitly turns the adjustment off. Returns False where there is no glibc (nothing to do there)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    trusted = settings.trusted_proxies
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "http": header_timeout_protocol(settings.header_timeout_seconds),
        "timeout_keep_alive": 5,
        "ws_ping_interval": 20,
        "ws_max_size": settings.max_body_bytes,
        # X-Forwarded-For is believed only from these peers; otherwise the connecting address is the client
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }
