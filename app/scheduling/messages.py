"""User-visible waiting reasons, as templates kept apart from the admission logic."""

from __future__ import annotations

from collections.abc import Sequence

RUNNING_CONFLICT = "waiting for #{issue}: both change {files}"
PULL_CONFLICT = "waiting for PR #{number} by @{author}: both change {files}"
ADMITTED_CONFLICT = "waiting for #{issue}, which starts now: both change {files}"
RESERVED = "waiting for #{issue}, passed over {times} times, which has reserved {files}"
RESERVED_ALL = "waiting for #{issue}, passed over {times} times, which must run alone"
BARRIER_RUNNING = "waiting for #{issue}, which runs alone because it changes {files}"
NEEDS_ALONE = "waiting to run alone because it changes {files}: #{issue} is {state}"
NO_PREDICTION = "files it did not predict"
CAPACITY = "waiting for a free worker: {busy} of {limit} busy"
LOOKAHEAD = "waiting in the queue at position {position}"

MAX_LISTED = 3


def list_files(files: Sequence[str]) -> str:
    """Return `a`, `a and b`, or `a, b, c and 2 more` for a sorted list of paths."""
    if not files:
        return NO_PREDICTION
    shown = list(files[:MAX_LISTED])
    rest = len(files) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
