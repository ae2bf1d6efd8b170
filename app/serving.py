"""Run an ASGI app under uvicorn on loopback in a background thread (stand-ins, tests, demo)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from app.http_protocol import BoundedHttpToolsProtocol


def bounded_http() -> dict[str, Any]:
    """uvicorn settings for a server that faces the internet: a bounded head (http_protocol)."""
    return {"http": BoundedHttpToolsProtocol}


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerThread:
    """A uvicorn server in a daemon thread; use as a context manager or call start()/stop().

    With `bounded`, it is configured as `townhall serve` is (h11, a bounded request head).
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        *,
        bounded: bool = False,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level=log_level,
            lifespan="on",
            **(bounded_http() if bounded else {}),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn:{self.port}")
        self._thread.daemon = True

    @property
    def url(self) -> str:
        """Base URL of the running server, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving and wait until the socket accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {self.url} did not start within {timeout}s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
