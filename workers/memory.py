"""A task's memory across attempts: what each attempt did, why it failed, what it tried.

Every attempt reads the notes at its start (they go into the agent's first message) and adds
one at its end, so a retry never repeats a known mistake.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.store.notes import Note

NOTE_TAIL = 1500


def describe_attempt(
    outcome: str, summary: str, files: Sequence[str], failure: str, verified: str
) -> str:
    """What one attempt did, in a few lines a later attempt can learn from."""
    lines = [f"Outcome: {outcome}."]
    if summary:
        lines.append(f"The agent said: {summary}")
    lines.append(f"Files changed: {', '.join(files) if files else 'none'}.")
    if verified:
        lines.append(f"Checks: {verified}")
    if failure:
        lines.append(f"Why it failed (tail):\n{failure[-NOTE_TAIL:]}")
    return "\n".join(lines)


def render_notes(notes: Sequence[Note]) -> str:
    """The notes as a section of the agent's first message ('' when there are none)."""
    if not notes:
        return ""
    entries = "\n\n".join(f"## Attempt {note.attempt}\n{note.text}" for note in notes)
    return (
        f"# What earlier attempts did\nLearn from these; do not repeat what failed.\n\n{entries}\n"
    )
