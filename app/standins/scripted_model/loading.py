"""Read scripts (and faults) from JSON or TOML documents; see FORMAT below."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from app.standins.scripted_model.faults import Fault, FaultKind
from app.standins.scripted_model.script import (
    Block,
    Match,
    Script,
    StopReason,
    Text,
    ToolUse,
    Turn,
    Usage,
)

FORMAT = """\
A script document (JSON, or TOML with the same keys):

  scripts = [{name, match?, turns: [turn, ...]}, ...]
  turns   = [turn, ...]          # shorthand: a script named "default"

  turn  = {content, match?, usage?, stop_reason?, stop_sequence?, repeat?}
  content = "text" | [{type = "text", text} | {type = "tool_use", name, input?, id?}, ...]
  match = {system?, tools?, tool_choice?, user?, model?}
  usage = {input_tokens?, output_tokens?, cache_creation_input_tokens?, cache_read_input_tokens?}
  fault = {kind = rate_limit|overloaded|api_error|delay, count?, retry_after?, seconds?}
"""

_MATCH_KEYS = frozenset({"system", "tools", "tool_choice", "user", "model"})
_TURN_KEYS = frozenset({"content", "match", "usage", "stop_reason", "stop_sequence", "repeat"})
_USAGE_KEYS = frozenset(Usage.__dataclass_fields__)


class ScriptFormatError(ValueError):
    """A script document that does not follow FORMAT; the message names the bad key."""


def load_file(path: Path) -> list[Script]:
    """Read the scripts of a `.json` or `.toml` file."""
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    return scripts_from_json(data)


def scripts_from_json(data: Any) -> list[Script]:
    """Build scripts from a parsed document."""
    document = _mapping(data, "document", frozenset({"scripts", "turns"}))
    scripts = [
        _script(raw, f"scripts[{number}]")
        for number, raw in enumerate(_list(document.get("scripts", []), "scripts"))
    ]
    if "turns" in document:
        scripts.append(_script({"name": "default", "turns": document["turns"]}, "turns"))
    return scripts


def fault_from_json(data: Any) -> Fault:
    """Build a fault from its JSON form."""
    raw = _mapping(data, "fault", frozenset({"kind", "count", "retry_after", "seconds"}))
    try:
        return Fault(
            kind=cast(FaultKind, raw.get("kind")),
            count=int(raw.get("count", 1)),
            retry_after=None if raw.get("retry_after") is None else float(raw["retry_after"]),
            seconds=float(raw.get("seconds", 0.0)),
        )
    except (TypeError, ValueError) as error:
        raise ScriptFormatError(f"fault: {error}") from error


def _script(data: Any, path: str) -> Script:
    raw = _mapping(data, path, frozenset({"name", "match", "turns"}))
    if not isinstance(raw.get("name"), str):
        raise ScriptFormatError(f"{path}.name: a script needs a name")
    turns = [_turn(t, f"{path}.turns[{n}]") for n, t in enumerate(_list(raw.get("turns"), path))]
    return Script(raw["name"], turns, _match(raw.get("match", {}), f"{path}.match"))


def _turn(data: Any, path: str) -> Turn:
    raw = _mapping(data, path, _TURN_KEYS)
    usage = _mapping(raw.get("usage", {}), f"{path}.usage", _USAGE_KEYS)
    try:
        return Turn(
            content=_content(raw.get("content"), f"{path}.content"),
            match=_match(raw.get("match", {}), f"{path}.match"),
            usage=Usage(**{key: int(value) for key, value in usage.items()}),
            stop_reason=cast(StopReason | None, raw.get("stop_reason")),
            stop_sequence=raw.get("stop_sequence"),
            repeat=bool(raw.get("repeat", False)),
        )
    except (TypeError, ValueError) as error:
        raise ScriptFormatError(f"{path}: {error}") from error


def _content(data: Any, path: str) -> list[Block]:
    if isinstance(data, str):
        return [Text(data)]
    blocks: list[Block] = []
    for number, item in enumerate(_list(data, path)):
        where = f"{path}[{number}]"
        kind = item.get("type") if isinstance(item, Mapping) else None
        if kind == "text":
            block = _mapping(item, where, frozenset({"type", "text"}))
            blocks.append(Text(str(block.get("text", ""))))
        elif kind == "tool_use":
            block = _mapping(item, where, frozenset({"type", "name", "input", "id"}))
            tool_input = _mapping(block.get("input", {}), f"{where}.input", None)
            blocks.append(ToolUse(str(block.get("name")), dict(tool_input), block.get("id")))
        else:
            raise ScriptFormatError(f"{where}: a block is {{type = 'text'|'tool_use', ...}}")
    return blocks


def _match(data: Any, path: str) -> Match:
    raw = _mapping(data, path, _MATCH_KEYS)
    tools = _list(raw.get("tools", []), f"{path}.tools")
    return Match(
        system=raw.get("system"),
        tools=tuple(str(name) for name in tools),
        tool_choice=raw.get("tool_choice"),
        user=raw.get("user"),
        model=raw.get("model"),
    )


def _mapping(data: Any, path: str, keys: frozenset[str] | None) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ScriptFormatError(f"{path}: expected a table/object")
    unknown = sorted(set(data) - keys) if keys is not None else []
    if unknown:
        raise ScriptFormatError(f"{path}: unknown keys {unknown}")
    return data


def _list(data: Any, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise ScriptFormatError(f"{path}: expected a list")
    return data
