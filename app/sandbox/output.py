"""Bounded capture of command output: keep the head and the tail, count what was dropped."""

from __future__ import annotations

from collections import deque


class CappedBuffer:
    """Collect bytes up to `cap`: the first quarter and the last three quarters are kept."""

    def __init__(self, cap: int) -> None:
        if cap < 16:
            raise ValueError(f"output cap must be at least 16 bytes, got {cap}")
        self._head_limit = cap // 4
        self._tail_limit = cap - self._head_limit
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Add a chunk, dropping middle bytes once over the cap."""
        self.total += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= self._tail_limit:
            self._tail_size -= len(self._tail.popleft())

    @property
    def truncated(self) -> bool:
        """Return whether any bytes were dropped."""
        return self.total > self._head_limit + self._tail_limit

    def text(self) -> str:
        """Return the kept output as text, with a marker where bytes were dropped."""
        tail = b"".join(self._tail)
        if not self.truncated:
            return (bytes(self._head) + tail).decode("utf-8", errors="replace")
        tail = tail[-self._tail_limit :]
        omitted = self.total - len(self._head) - len(tail)
        head = bytes(self._head).decode("utf-8", errors="replace")
        marker = f"\n[... {omitted} bytes of output omitted ...]\n"
        return head + marker + tail.decode("utf-8", errors="replace")
