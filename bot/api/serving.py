"""Running the app under uvicorn with the limits a public server needs: a header-read timeout and a header size
cap (uvicorn has neither, so connections that trickle or bloat their headers stayed open and grew), a cap on
connections per address, the keep-alive timeout, the WebSocket frame size. (Client addresses behind a trusted
proxy are taken from X-Forwarded-For in the app: create_app.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.settings import Settings

MAX_HEADER_BYTES = 64 * 1024  # request line and headers; nginx's default large_client_header_buffers is 32 KB
TOO_LARGE_HEADERS = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def guarded_protocol(
    header_seconds: float, connections_per_address: int, trusted: Iterable[str] = ()
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with three limits uvicorn lacks: a connection must finish its request line
    and headers within ``header_seconds`` (of connecting, or of starting its next request on a kept-alive
    connection) and within MAX_HEADER_BYTES — else 431/close — and one address may hold at most
    ``connections_per_address`` connections at once (trusted proxies excepted)."""
    open_per_address: Counter[str] = Counter()
    exempt = set(trusted)

    class GuardedProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _header_bytes = 0
        _peer: str | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_bytes = 0
            self._header_timer = self.loop.call_later(header_seconds, self._headers_too_slow)

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
            peer = self.client[0] if self.client else None
            if peer is not None and peer not in exempt:
                if open_per_address[peer] >= connections_per_address:
                    transport.close()
                    return
                self._peer = peer
                open_per_address[peer] += 1
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._header_timer is not None:  # the headers are still not complete: all of it was header
                self._header_bytes += len(data)
                if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                    self._disarm()
                    self.transport.write(TOO_LARGE_HEADERS)
                    self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:  # the next request on a kept-alive connection
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def _release(self) -> None:
            if self._peer is not None:
                open_per_address[self._peer] -= 1
                if open_per_address[self._peer] <= 0:
                    del open_per_address[self._peer]
                self._peer = None

        def handle_websocket_upgrade(self) -> None:
            # the connection now belongs to the WebSocket protocol (this one hears no connection_lost): it leaves
            # this count here, and the app's per-address socket limit (FAQBOT_CONNECTIONS_PER_IP) takes over
            self._disarm()
            self._release()
            super().handle_websocket_upgrade()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            self._release()
            super().connection_lost(exc)

    return GuardedProtocol


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)


def return_large_blocks_to_the_system(threshold: int = 8 << 20) -> bool:
    """Make glibc serve allocations of ``threshold`` bytes and more with mmap, and give them back when freed.

    By default glibc raises that threshold each time a large block is freed (up to 32 MiB), after which a burst
    of 19 MiB password hashes — or any large buffer — stays in the heap as resident memory for good. Setting it
    explicitly turns the adjustment off. 8 MiB: below the hashes, above the encoder's buffers (1 MiB cost 0.3 ms
    per answer; 8 MiB measured no cost). Returns False where there is no glibc (nothing to do there)."""
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
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "http": guarded_protocol(
            settings.request_timeout_seconds, settings.http_connections_per_address, settings.trusted_proxies
        ),
        "timeout_keep_alive": 5,
        "ws_ping_interval": 20,
        "ws_max_size": settings.max_body_bytes,
        # X-Forwarded-For is handled in the app (create_app), for the peers in FAQBOT_TRUSTED_PROXIES only
        "proxy_headers": False,
    }
