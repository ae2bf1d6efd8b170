"""Where a store URL points: a local file (which may not exist yet) or a server."""

from __future__ import annotations

import os
from pathlib import Path

from app.store.db import REMOTE_SCHEMES


def store_file(url: str) -> Path | None:
    """Return the database file behind `url`, or None for a server or an in-memory store."""
    path = url.removeprefix("file:").split("?", 1)[0]
    if url.startswith(REMOTE_SCHEMES) or path == ":memory:":
        return None
    return Path(os.path.abspath(Path(path).expanduser()))


def describe_store(url: str) -> str:
    """Name the store for people: the file's absolute path, or the URL without its query."""
    file = store_file(url)
    return str(file) if file is not None else url.split("?", 1)[0]
