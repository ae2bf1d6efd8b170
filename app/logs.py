"""Logging set-up for Townhall's processes: one line per record, to stderr."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    """Configure the root logger once, at process start-up."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
