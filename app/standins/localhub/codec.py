"""Convert localhub's dataclass records to JSON-ready values and back, guided by type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, TypeVar

from app.clock import format_timestamp, parse_timestamp

T = TypeVar("T")


def to_jsonable(value: object) -> Any:
    """Return `value` as plain JSON types (dataclasses to dicts, datetimes to GitHub strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def from_jsonable(cls: type[T], data: Any) -> T:
    """Rebuild an instance of dataclass `cls` from what `to_jsonable` produced."""
    return typing.cast(T, _convert(cls, data))


def _convert(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if data is None:
            return None
        return _convert(options[0], data)
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        return [_convert(item_hint, item) for item in data]
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        return {key_hint(key): _convert(value_hint, item) for key, item in data.items()}
    if hint is datetime:
        return parse_timestamp(data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        kwargs = {
            f.name: _convert(hints[f.name], data[f.name])
            for f in dataclasses.fields(hint)
            if f.name in data
        }
        return hint(**kwargs)
    return data
