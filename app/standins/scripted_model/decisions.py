"""What the model decided for one API request: an error to send, or a turn to serve."""

from __future__ import annotations

from dataclasses import dataclass

from app.standins.scripted_model.errors import ApiError
from app.standins.scripted_model.request import ModelRequest
from app.standins.scripted_model.routing import Served


@dataclass(frozen=True)
class Rejection:
    """A request answered with an error, and the log outcome to record."""

    error: ApiError
    outcome: str  # rejected | fault | unmatched | script_error


@dataclass(frozen=True)
class Accepted:
    """A request a turn will answer, after `delay` seconds."""

    request: ModelRequest
    served: Served
    delay: float
