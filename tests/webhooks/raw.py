"""Raw HTTP/1.1 over a socket: heads without bodies, stalled bodies, hang-ups, huge headers."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Protocol


class Listening(Protocol):
    """Where a server listens (a ServerThread, or the address of a `townhall serve`)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


def head(headers: Mapping[str, str], length: int, path: str = "/webhook") -> bytes:
    """Return a POST request line and headers declaring a body of `length` bytes."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def connect(server: Listening, timeout: float = 5.0) -> socket.socket:
    """Open a connection to the server; reads time out after `timeout` seconds."""
    return socket.create_connection((server.host, server.port), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Read until the server closes the connection (a socket timeout fails the test)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def status_of(response: bytes) -> int:
    """Return the status code of a raw HTTP response."""
    return int(response.split(b" ", 2)[1])


def refused_head(sock: socket.socket, request_head: bytes) -> bytes:
    """Send an oversized head; return the answer, or b"" when the server reset the connection."""
    try:
        sock.sendall(request_head)
        return read_until_closed(sock)
    except (BrokenPipeError, ConnectionResetError):
        return b""  # refused while we were still sending: the server did not buffer it
