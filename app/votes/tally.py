"""The tally comment and the state labels: pure rendering, plus fingerprints to skip no-op edits."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from app.votes import texts
from app.votes.ballots import Decision, SignalLine, VoteLine
from app.votes.rules import short_time, shown

STATE_LABELS = {
    "approved": "townhall:approved",
    "rejected": "townhall:rejected",
    "held": "townhall:held",
}
OWN_LABELS = frozenset(STATE_LABELS.values())
# GitHub caps a comment at 65,536 characters; long voter lists are cut, the CLI has them all.
MAX_ROWS = 50


def fingerprint(text: str) -> str:
    """Return a short stable digest of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def state_labels(decision: Decision) -> tuple[str, ...]:
    """Return the Townhall labels the issue should carry for this decision."""
    label = STATE_LABELS.get(decision.outcome)
    return (label,) if label else ()


def _vote_word(line: VoteLine) -> str:
    return " ".join(texts.EMOJI.get(content, content) for content in line.contents)


def _table(header: str, rows: Sequence[str], ref: str) -> list[str]:
    if not rows:
        return []
    kept = list(rows[:MAX_ROWS])
    if len(rows) > MAX_ROWS:
        kept.append(texts.TALLY_MORE.format(more=len(rows) - MAX_ROWS, ref=ref))
    return ["", header, *kept]


def _signal_row(line: SignalLine) -> str:
    return texts.TALLY_SIGNAL_ROW.format(
        login=line.login, verdict=line.verdict, source=line.source, reason=line.reason
    )


def render_tally(decision: Decision, ref: str, now_passed_window: bool) -> str:
    """Render the tally comment body; it holds no clock time, so an unchanged tally is equal."""
    window = (texts.TALLY_WINDOW_CLOSED if now_passed_window else texts.TALLY_WINDOW_OPEN).format(
        ends=short_time(decision.window_ends)
    )
    lines = [
        texts.TALLY_MARKER,
        texts.TALLY_TITLE,
        "",
        texts.TALLY_STATUS.format(
            outcome=texts.OUTCOME_WORDS[decision.outcome], reasons="; ".join(decision.reasons)
        ),
        "",
        texts.TALLY_SCORE.format(score=decision.score, threshold=decision.threshold, window=window),
    ]
    if decision.outcome == "held":
        lines += ["", texts.TALLY_HELD_NOTE]
    counted = [
        texts.TALLY_COUNTED_ROW.format(
            login=line.login, vote=_vote_word(line), weight=f"{shown(line.value):+g}"
        )
        for line in decision.counted
    ]
    excluded = [
        texts.TALLY_EXCLUDED_ROW.format(
            login=line.login or "?", vote=_vote_word(line), reason=line.reason
        )
        for line in decision.excluded
    ]
    lines += _table(texts.TALLY_COUNTED_HEADER, counted, ref)
    lines += _table(texts.TALLY_EXCLUDED_HEADER, excluded, ref)
    lines += _table(texts.TALLY_SIGNALS_HEADER, [_signal_row(s) for s in decision.signals], ref)
    lines += ["", texts.TALLY_FOOTER]
    return "\n".join(lines)


def is_tally(body: str) -> bool:
    """Tell whether a comment body is a Townhall tally (by its hidden marker)."""
    return body.lstrip().startswith(texts.TALLY_MARKER)
