"""Field checks that word their failures as the real API does (`path: reason`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.standins.scripted_model.errors import invalid

CACHE_TTLS = ("5m", "1h")


def require(container: Mapping[str, Any], key: str, path: str) -> Any:
    """Return `container[key]` or fail with `path: Field required`."""
    if key not in container or container[key] is None:
        raise invalid(f"{path}: Field required")
    return container[key]


def expect_dict(value: Any, path: str) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else fail."""
    if not isinstance(value, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    checked: dict[str, Any] = value
    return checked


def expect_list(value: Any, path: str) -> list[Any]:
    """Return `value` if it is a JSON array, else fail."""
    if not isinstance(value, list):
        raise invalid(f"{path}: Input should be a valid list")
    return value


def expect_str(value: Any, path: str) -> str:
    """Return `value` if it is a string, else fail."""
    if not isinstance(value, str):
        raise invalid(f"{path}: Input should be a valid string")
    return value


def expect_bool(value: Any, path: str) -> bool:
    """Return `value` if it is a boolean, else fail."""
    if not isinstance(value, bool):
        raise invalid(f"{path}: Input should be a valid boolean")
    return value


def expect_int(value: Any, path: str, minimum: int | None = None) -> int:
    """Return `value` if it is an integer at least `minimum`, else fail."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{path}: Input should be a valid integer")
    if minimum is not None and value < minimum:
        raise invalid(f"{path}: Input should be greater than or equal to {minimum}")
    return value


def expect_number(value: Any, path: str, low: float, high: float) -> float:
    """Return `value` if it is a number within [low, high], else fail."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{path}: Input should be a valid number")
    if not low <= value <= high:
        raise invalid(f"{path}: Input should be between {low:g} and {high:g}")
    return float(value)


def reject_extra(container: Mapping[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
    """Fail on the first key that is not in `allowed`."""
    for key in container:
        if key not in allowed:
            raise invalid(f"{prefix}{key}: Extra inputs are not permitted")


def check_cache_control(block: Mapping[str, Any], path: str) -> bool:
    """Validate a block's cache_control, if any; return whether it carries one."""
    control = block.get("cache_control")
    if control is None:
        return False
    where = f"{path}.cache_control" if path else "cache_control"
    control = expect_dict(control, where)
    if control.get("type") != "ephemeral":
        raise invalid(f"{where}.type: Input should be 'ephemeral'")
    if control.get("ttl", "5m") not in CACHE_TTLS:
        raise invalid(f"{where}.ttl: Input should be '5m' or '1h'")
    return True
