"""The egress proxy of an environment's setup: HTTPS to package registries and listed domains.

Setup runs in a sandbox with no network of its own. The trusted side listens on a unix
socket (bound read-only into the sandbox); a small forwarder inside listens on loopback and
relays to it; HTTPS_PROXY and friends point there. The proxy accepts only `CONNECT host:443`
for allowed hosts, never to a loopback, link-local or private address, so setup can download
packages but cannot reach this machine's services, a private network, or any other site.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import shlex
import socket
from collections.abc import Iterable
from pathlib import Path

from app.sandbox.bwrap import PROXY_MOUNT

log = logging.getLogger(__name__)

# What setup may reach without configuration: the registries of the stacks Townhall detects.
REGISTRY_DOMAINS = (
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    "repo.yarnpkg.com",
    "nodejs.org",
    "deb.debian.org",
)
SOCKET_NAME = "proxy.sock"
FORWARDER_NAME = "forward.py"
# The loopback port the forwarder listens on inside the sandbox (its own network namespace).
FORWARD_PORT = 3128
HEAD_LIMIT = 16 * 1024
CONNECT_SECONDS = 30.0

# Runs inside the sandbox with the system python3: listen, detach (so the shell continues once
# the port is open), relay every connection to the trusted side's unix socket.
FORWARDER = f"""\
import os, socket, threading
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", {FORWARD_PORT}))
listener.listen(128)
if os.fork():
    os._exit(0)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)

def pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def serve(client):
    upstream = socket.socket(socket.AF_UNIX)
    try:
        upstream.connect("{PROXY_MOUNT}/{SOCKET_NAME}")
    except OSError:
        client.close()
        return
    other = threading.Thread(target=pipe, args=(client, upstream), daemon=True)
    other.start()
    pipe(upstream, client)
    other.join()
    client.close()
    upstream.close()

while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
"""


def proxy_env() -> dict[str, str]:
    """Return the variables that send a setup command's downloads through the forwarder."""
    url = f"http://127.0.0.1:{FORWARD_PORT}"
    names = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")
    env = dict.fromkeys(names, url)
    env |= {"npm_config_proxy": url, "npm_config_https_proxy": url, "NO_PROXY": "", "no_proxy": ""}
    return env


def with_forwarder(command: str) -> str:
    """Return a shell command that starts the forwarder, then runs `command`."""
    forwarder = shlex.quote(f"{PROXY_MOUNT}/{FORWARDER_NAME}")
    missing = "townhall: the setup network needs python3 in the sandbox (from /usr) to forward"
    return (
        f"python3 {forwarder} || {{ echo {shlex.quote(missing)} >&2; exit 97; }};"
        f" exec /bin/sh -c {shlex.quote(command)}"
    )


def host_allowed(host: str, domains: Iterable[str]) -> bool:
    """Return whether `host` is one of `domains` or a subdomain of one."""
    host = host.lower().rstrip(".")
    for domain in domains:
        domain = domain.lower().strip().lstrip("*.").rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


# Where setup must never connect, whatever a name resolves to: this machine (loopback), the
# cloud metadata service (link-local), private networks. Other ranges stay reachable: some
# networks answer registry names with addresses of an intercepting gateway (TEST-NET, say).
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    )
)  # fmt: skip


def blocked(address: str) -> bool:
    """Return whether `address` is this machine, link-local or a private network."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in BLOCKED_NETWORKS if ip.version == network.version)


def reachable_address(info: Iterable[tuple[object, ...]]) -> str | None:
    """Return the first address of a getaddrinfo answer setup may reach (None: none)."""
    for entry in info:
        sockaddr = entry[4]
        assert isinstance(sockaddr, tuple)
        if not blocked(str(sockaddr[0])):
            return str(sockaddr[0])
    return None


class EgressProxy:
    """An allowlisting CONNECT proxy on a unix socket in `directory` (with the forwarder).

    It connects only to `port` (HTTPS), never to a loopback, link-local or private address;
    `private_ok` (tests, with a server on loopback) lifts the address check.
    """

    def __init__(
        self,
        directory: Path,
        domains: Iterable[str],
        *,
        port: int = 443,
        private_ok: bool = False,
    ) -> None:
        self.directory = directory
        self.domains = tuple(REGISTRY_DOMAINS) + tuple(domains)
        self.port = port
        self.private_ok = private_ok
        self.refused: list[str] = []
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Write the forwarder and start listening."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / FORWARDER_NAME).write_text(FORWARDER)
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.directory / SOCKET_NAME), limit=HEAD_LIMIT
        )

    async def close(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._tunnel(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_SECONDS)
        request = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        target = request[1] if len(request) == 3 and request[0] == "CONNECT" else ""
        host, _, port = target.rpartition(":")
        if port != str(self.port) or not host_allowed(host, self.domains):
            await self._refuse(writer, " ".join(request)[:200], "403 Forbidden")
            return
        loop = asyncio.get_running_loop()
        try:
            info = await loop.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
        except OSError:
            await self._refuse(writer, target, "502 Bad Gateway")
            return
        address = str(info[0][4][0]) if self.private_ok and info else reachable_address(info)
        if address is None:  # a name that resolves to loopback or a private network
            what = f"{target} (resolves to a loopback or private address)"
            await self._refuse(writer, what, "403 Forbidden")
            return
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(address, self.port), CONNECT_SECONDS
        )
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_relay(reader, up_writer), _relay(up_reader, writer))
        finally:
            up_writer.close()

    async def _refuse(self, writer: asyncio.StreamWriter, what: str, status: str) -> None:
        self.refused.append(what)
        log.warning("environment setup: the egress proxy refused %s", what)
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
        with contextlib.suppress(OSError):
            await writer.drain()


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()
