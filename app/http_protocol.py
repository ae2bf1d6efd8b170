"""The HTTP/1.1 protocol `townhall serve` speaks: uvicorn's httptools one, bounded and corked.

uvicorn parses with httptools (llhttp, in C) or h11 (pure Python). h11 bounds the request
head, which an internet-facing server needs, but took about three times the CPU per webhook.
BoundedHttpToolsProtocol keeps httptools and adds the bound: bytes received while a head is
incomplete are counted, and past MAX_HEADER_BYTES the connection is refused with 400 (the one
read that crosses the bound, at most 256 KiB, is the slack).

It also corks the socket: uvicorn writes a response's head and its body separately, and every
write is a system call that, on loopback, also runs the receiver's side of TCP. Writes made in
one event-loop step go out as one, at the end of the step (the same step, so no added wait).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# The request line and headers of one request may take this many bytes.
MAX_HEADER_BYTES = 32 * 1024


class CorkedTransport(asyncio.Transport):
    """A transport whose writes within one event-loop step reach the socket as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue `data`; the step's writes are flushed together."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        """Send what was queued, unless the connection is already closing."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Send what was queued, then close."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what was queued and close at once."""
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()  # a WebSocket upgrade hands the socket over: what was queued goes first
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded and the socket corked."""

    _head_bytes = 0
    _in_head = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection; responses are written through a CorkedTransport."""
        super().connection_made(transport)
        self.transport = CorkedTransport(transport, self.loop)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; refuse a head that grew past the bound."""
        if self.transport.is_closing():
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        too_large = self._in_head and self._head_bytes > MAX_HEADER_BYTES
        if too_large and not self.transport.is_closing():
            self.send_400_response("Request head too large.")

    def on_headers_complete(self) -> None:
        """End of a head: the body and the next request's head are counted afresh."""
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes start another request's head."""
        self._in_head = True
        super().on_message_complete()
