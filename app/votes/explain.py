"""Explanations of decisions: the JSON stored per snapshot, and its rendering for the terminal."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from app.clock import format_timestamp
from app.policy import VotePolicy
from app.votes.ballots import Decision, IssueSnapshot
from app.votes.tally import fingerprint


def explanation(decision: Decision, issue: IssueSnapshot, policy: VotePolicy) -> dict[str, Any]:
    """Return everything needed to explain the decision later, as JSON-ready data."""
    return {
        "issue": issue.number,
        "title": issue.title,
        "author": issue.author,
        "opened_at": format_timestamp(issue.created_at),
        "outcome": decision.outcome,
        "reasons": list(decision.reasons),
        "score": decision.score,
        "threshold": decision.threshold,
        "window_ends": format_timestamp(decision.window_ends),
        "body_hash": decision.body_hash,
        "approved_body_hash": decision.approved_body_hash,
        "held_since": format_timestamp(decision.held_since) if decision.held_since else None,
        "reaction_counts": dict(sorted(issue.counts.items())),
        "policy": asdict(policy),
        "votes": [
            {
                "login": line.login,
                "contents": list(line.contents),
                "direction": line.direction,
                "counted": line.counted,
                "weight": line.weight,
                "value": line.value,
                "reason": line.reason,
                "reacted_at": format_timestamp(line.reacted_at),
            }
            for line in decision.votes
        ],
        "signals": [
            {
                "login": line.login,
                "verdict": line.verdict,
                "source": line.source,
                "at": format_timestamp(line.at),
                "effective": line.effective,
                "reason": line.reason,
            }
            for line in decision.signals
        ],
    }


def explanation_fingerprint(data: dict[str, Any]) -> str:
    """Fingerprint an explanation; decayed values are rounded so they do not churn each sweep."""
    stable = dict(data)
    stable["score"] = round(float(data["score"]), 2)
    stable["votes"] = [vote | {"value": round(vote["value"], 2)} for vote in data["votes"]]
    return fingerprint(json.dumps(stable, sort_keys=True))


def render_explanation(data: dict[str, Any], ref: str, taken_at: str) -> str:
    """Render a stored explanation for `townhall votes`."""
    lines = [
        f"{ref}: {data['title']} (by {data['author']}, opened {data['opened_at']})",
        f"decision: {data['outcome']} as of {taken_at}",
    ]
    lines += [f"  because {reason}" for reason in data["reasons"]]
    lines.append(
        f"score: {data['score']:g} (threshold {data['threshold']:g});"
        f" voting window ends {data['window_ends']}"
    )
    if data.get("held_since"):
        lines.append(f"held since {data['held_since']} (text changed after approval)")
    counts = ", ".join(f"{content} {n}" for content, n in data["reaction_counts"].items())
    lines.append(f"reactions: {counts or 'none'}")
    votes = data["votes"]
    counted = [vote for vote in votes if vote["counted"]]
    excluded = [vote for vote in votes if not vote["counted"]]
    lines.append(f"counted votes ({len(counted)}):")
    lines += [
        f"  {vote['login']:<24} {vote['direction']:<8} {vote['value']:+g}  {vote['reason']}"
        f"  ({vote['reacted_at']})"
        for vote in counted
    ]
    lines.append(f"not counted ({len(excluded)}):")
    lines += [
        f"  {vote['login'] or '?':<24} {vote['direction']:<8} {vote['reason']}" for vote in excluded
    ]
    if data["signals"]:
        lines.append("maintainer signals:")
        lines += [
            f"  {s['login']:<24} {s['verdict']:<8} by {s['source']} at {s['at']}: {s['reason']}"
            for s in data["signals"]
        ]
    return "\n".join(lines)
