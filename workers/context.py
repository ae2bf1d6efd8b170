"""Keep an agent's conversation affordable: shorten old tool results, in chunks, in place.

Every turn resends the whole conversation; with a moving cache breakpoint (app/llm.py) the
earlier turns are read from the cache at a tenth of the input price, but a file read at turn 3
is still paid for at every later turn, and it fills the context window. So results older than
the last `keep_turns` turns are shortened once they hold more than `old_result_tokens`.

The policy is chosen for the cache. Changing a block invalidates the cached prefix from that
block on, and the next request writes the rest again at 1.25x the input price. So shortening
never happens a little every turn: it waits until the old, verbatim results pass the budget,
then shortens the oldest ones at once, down to half the budget, so the next shortening is many
turns away. The note that replaces a result depends only on the tool call and its result, and
a note is too short to be shortened again, so a shortened conversation stays byte-identical
from turn to turn and its prefix keeps hitting the cache.

What a note keeps is what the model needs to go on: the tool and its path or command, the
size of what was shown and how to get it back; a command's exit status, its error lines and
its last lines. Error results, recent turns and the assistant's own tool calls (which hold
the text of every edit it made) are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4
NOTE_MAX_CHARS = 800  # below min_result_tokens, so a note is never shortened again
_NUMBERED = re.compile(r"^\s*(\d+)\t")
_ERROR_LINE = re.compile(
    r"error|exception|traceback|fail|assert|warning|^E\s|^FAILED|^ERROR", re.IGNORECASE
)
RUN_KEEP_ERRORS = 12
RUN_KEEP_TAIL = 4
SEARCH_KEEP_PATHS = 15


@dataclass(frozen=True)
class ContextBudget:
    """When old tool results are shortened (see the module docstring for why in chunks)."""

    old_result_tokens: int = 16_000  # verbatim results older than keep_turns may hold this much
    keep_turns: int = 4  # tool results of the last turns are never shortened
    min_result_tokens: int = 250  # smaller results are left alone: shortening them saves little

    def __post_init__(self) -> None:
        if self.keep_turns < 1:
            raise ValueError(f"keep_turns must be at least 1, got {self.keep_turns}")
        if self.min_result_tokens * CHARS_PER_TOKEN <= NOTE_MAX_CHARS:
            raise ValueError(
                f"min_result_tokens must exceed {NOTE_MAX_CHARS // CHARS_PER_TOKEN} "
                "(a note must never qualify for shortening again)"
            )


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters a token."""
    return -(-len(text) // CHARS_PER_TOKEN)


def shorten_old_results(messages: list[dict[str, Any]], budget: ContextBudget) -> int:
    """Shorten old tool results in `messages` (in place) when over budget; return how many."""
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    recent = set(users[-budget.keep_turns :])
    candidates = [
        (index, position, estimate_tokens(block["content"]))
        for index in users
        if index not in recent and isinstance(messages[index]["content"], list)
        for position, block in enumerate(messages[index]["content"])
        if _shortenable(block, budget)
    ]
    held = sum(tokens for _, _, tokens in candidates)
    if held <= budget.old_result_tokens:
        return 0
    calls = _tool_calls(messages)
    shortened = 0
    for index, position, tokens in candidates:  # oldest first
        if held <= budget.old_result_tokens // 2:
            break
        content = messages[index]["content"]
        block = content[position]
        name, arguments = calls.get(str(block.get("tool_use_id")), ("a tool", {}))
        content[position] = {**block, "content": result_note(name, arguments, block["content"])}
        held -= tokens
        shortened += 1
    return shortened


def result_note(name: str, arguments: Mapping[str, Any], result: str) -> str:
    """The short note that replaces one tool result: what it was and how to get it back."""
    lines = result.splitlines()
    if name == "read_file":
        note = _read_note(str(arguments.get("path", "?")), lines)
    elif name == "list_files":
        note = (
            f"[list_files {arguments.get('pattern', '**')!r}: {len(lines)} lines, "
            "shortened: list them again if needed]"
        )
    elif name == "search":
        note = _search_note(str(arguments.get("pattern", "")), lines)
    elif name == "run":
        note = _run_note(str(arguments.get("command", "")), lines)
    else:
        note = f"[{name} result, {len(lines)} lines, shortened: run it again if needed]"
    return note if len(note) <= NOTE_MAX_CHARS else note[: NOTE_MAX_CHARS - 12] + "\n[note cut]"


def _shortenable(block: Mapping[str, Any], budget: ContextBudget) -> bool:
    return (
        block.get("type") == "tool_result"
        and not block.get("is_error")
        and isinstance(block.get("content"), str)
        and estimate_tokens(block["content"]) >= budget.min_result_tokens
    )


def _tool_calls(messages: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    calls: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for message in messages:
        if message["role"] != "assistant" or isinstance(message["content"], str):
            continue
        for block in message["content"]:
            if block.get("type") == "tool_use":
                calls[str(block["id"])] = (str(block["name"]), block.get("input") or {})
    return calls


def _read_note(path: str, lines: Sequence[str]) -> str:
    numbers = [int(match[1]) for line in lines if (match := _NUMBERED.match(line))]
    shown = f"lines {numbers[0]}-{numbers[-1]}, " if numbers else ""
    return f"[file {path}, {shown}{len(numbers)} lines, shortened: read it again if needed]"


def _search_note(pattern: str, lines: Sequence[str]) -> str:
    per_path: dict[str, int] = {}
    for line in lines:
        path, separator, _ = line.partition(":")
        if separator and not line.startswith("["):
            per_path[path] = per_path.get(path, 0) + 1
    shown = list(per_path.items())[:SEARCH_KEEP_PATHS]
    listed = ", ".join(f"{path} ({count})" for path, count in shown)
    more = len(per_path) - SEARCH_KEEP_PATHS
    return (
        f"[search {pattern!r}: {sum(per_path.values())} matches in {listed}"
        f"{f' and {more} more files' if more > 0 else ''}; shortened: search again for the lines]"
    )


def _run_note(command: str, lines: Sequence[str]) -> str:
    status = lines[0] if lines else "no output"
    body = lines[1:]
    errors = [line for line in body if _ERROR_LINE.search(line)][:RUN_KEEP_ERRORS]
    tail = [line for line in body[-RUN_KEEP_TAIL:] if line not in errors]
    kept = "\n".join(line[:160] for line in [*errors, *tail])
    return (
        f"[run {command[:200]!r}: {status}; output shortened to its error lines and last "
        f"lines]\n{kept}".rstrip()
    )
