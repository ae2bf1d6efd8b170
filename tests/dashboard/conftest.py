"""Fixtures for observability tests: captured JSON logs, and the root logger put back after."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from app.logs import configure_logging


class CapturedLogs:
    """The text written by the JSON log handler, and its lines parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self, logger: str | None = None) -> list[dict[str, Any]]:
        """Return every line parsed (each must be JSON), or only those of `logger`."""
        parsed = [json.loads(line) for line in self.text.splitlines() if line.strip()]
        return [line for line in parsed if logger is None or line["logger"] == logger]


@pytest.fixture
def captured_logs() -> Iterator[CapturedLogs]:
    """Configure Townhall's logging into a buffer at DEBUG; restore the root logger after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    captured = CapturedLogs()
    configure_logging("DEBUG", stream=captured.stream)
    try:
        yield captured
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
