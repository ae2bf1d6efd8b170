"""The vote rules: a pure function from one issue's snapshot, the policy and the time to a decision.

Order of precedence, strongest first: a maintainer veto; a hold (text changed after approval);
a maintainer approval; votes at or below -threshold; an earlier approval (approval is sticky);
votes at or above the threshold once the voting window has passed.

Approval is bound to the title and body it was given for. When they change, the issue is held
from the sweep that notices it until approval is confirmed again: by a maintainer approving
after that moment, or (unless the policy requires a maintainer) by votes cast after that moment
reaching the threshold on their own. Votes from before the change approved the old text, so
they do not count towards confirming the new one. Restoring the approved text lifts the hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.policy import VotePolicy
from app.store.issues import body_hash
from app.votes import texts
from app.votes.ballots import (
    Decision,
    Direction,
    IssueSnapshot,
    MaintainerAct,
    Reaction,
    SignalLine,
    Standing,
    Verdict,
    VoteLine,
    VoterFacts,
    VoteStatus,
)

# Scores are sums of floats (weights, decay); rounding keeps 2.9999999 from missing 3.
_PRECISION = 6


def short_time(moment: datetime) -> str:
    """Format a time for people: minutes precision, UTC."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def shown(score: float) -> float:
    """Round a score for people: with decay the full value changes at every sweep."""
    return round(score, 2) + 0.0


def _score(values: Iterable[float]) -> float:
    return round(sum(values), _PRECISION) + 0.0  # + 0.0 turns -0.0 into 0.0


def _exclusion(
    account_reactions: Sequence[Reaction],
    issue: IssueSnapshot,
    policy: VotePolicy,
    facts: VoterFacts,
    now: datetime,
) -> str | None:
    """Return why this person's vote does not count, or None when it counts."""
    account = account_reactions[0].account
    app = facts.app_login.lower().removesuffix("[bot]")
    if app and account.is_bot and account.key.removesuffix("[bot]") == app:
        return texts.APP_ITSELF
    if account.is_bot:
        return texts.BOT
    if not account.login or account.kind not in {"User", "Organization"}:
        return texts.UNKNOWN_ACCOUNT
    if not policy.count_author and account.key == issue.author.lower():
        return texts.AUTHOR
    if policy.min_account_age_days > 0:
        if account.created_at is None:
            return texts.AGE_UNKNOWN
        age_days = max((now - account.created_at) / timedelta(days=1), 0.0)
        if age_days < policy.min_account_age_days:
            return texts.TOO_YOUNG.format(age=int(age_days), minimum=policy.min_account_age_days)
    return None


def _weight(login: str, policy: VotePolicy, facts: VoterFacts) -> tuple[float, str]:
    """Return the weight of a counted vote and how it was chosen."""
    if facts.is_maintainer(login):
        return policy.maintainer_weight, texts.MAINTAINER_WEIGHT.format(
            weight=policy.maintainer_weight
        )
    if login.lower() in facts.contributors:
        return policy.contributor_weight, texts.CONTRIBUTOR_WEIGHT.format(
            weight=policy.contributor_weight
        )
    return 1.0, texts.COUNTED


def _decay(reacted_at: datetime, policy: VotePolicy, now: datetime) -> float:
    if policy.decay_half_life_days <= 0:
        return 1.0
    age_days = max((now - reacted_at) / timedelta(days=1), 0.0)
    factor: float = 0.5 ** (age_days / policy.decay_half_life_days)
    return factor


def judge_votes(
    issue: IssueSnapshot, policy: VotePolicy, facts: VoterFacts, now: datetime
) -> tuple[VoteLine, ...]:
    """Return one line per person who reacted for or against: counted or not, and why."""
    by_person: dict[str, list[Reaction]] = defaultdict(list)
    for index, reaction in enumerate(issue.reactions):
        if reaction.content in policy.up or reaction.content in policy.down:
            # Reactions with no known account cannot be told apart: each stands alone.
            key = reaction.account.key or f"#unknown-{index}"
            by_person[key].append(reaction)
    lines = []
    for reactions in by_person.values():
        reactions.sort(key=lambda r: r.reacted_at)
        login = reactions[0].account.login
        contents = tuple(dict.fromkeys(r.content for r in reactions))
        ups = [r for r in reactions if r.content in policy.up]
        downs = [r for r in reactions if r.content in policy.down]
        first = reactions[0].reacted_at
        if ups and downs:
            lines.append(VoteLine(login, contents, "both", False, 0.0, 0.0, texts.BOTH_WAYS, first))
            continue
        direction: Direction = "for" if ups else "against"
        reason = _exclusion(reactions, issue, policy, facts, now)
        if reason is not None:
            lines.append(VoteLine(login, contents, direction, False, 0.0, 0.0, reason, first))
            continue
        weight, reason = _weight(login, policy, facts)
        decay = _decay(first, policy, now)
        if decay < 1.0:
            reason += "; " + texts.DECAYED.format(
                factor=decay, half_life=policy.decay_half_life_days
            )
        sign = 1.0 if ups else -1.0
        value = round(sign * weight * decay, _PRECISION)
        lines.append(VoteLine(login, contents, direction, True, weight, value, reason, first))
    return tuple(sorted(lines, key=lambda line: (not line.counted, line.reacted_at, line.login)))


def judge_signals(
    issue: IssueSnapshot,
    policy: VotePolicy,
    facts: VoterFacts,
    acts: Sequence[MaintainerAct],
) -> tuple[SignalLine, ...]:
    """Return every maintainer signal; exactly one effective signal, the latest, if any."""
    candidates = list(acts)
    ignored: list[SignalLine] = []
    by_content: dict[str, Verdict] = {
        policy.approve_reaction: "approve",
        policy.veto_reaction: "reject",
    }
    for reaction in issue.reactions:
        verdict = by_content.get(reaction.content) if reaction.content else None
        if verdict is None:
            continue
        account = reaction.account
        act = MaintainerAct(account.login, verdict, "reaction", reaction.reacted_at)
        if account.is_bot:
            ignored.append(_signal(act, False, texts.SIGNAL_BY_BOT))
        elif not facts.is_maintainer(account.login):
            ignored.append(_signal(act, False, texts.SIGNAL_NOT_MAINTAINER))
        else:
            candidates.append(act)
    # On a tie in time a veto wins: refusing is the safe side.
    candidates.sort(key=lambda act: (act.at, act.verdict == "reject"))
    last = len(candidates) - 1
    lines = [
        _signal(act, True, texts.SIGNAL_LATEST)
        if index == last
        else _signal(act, False, texts.SIGNAL_SUPERSEDED)
        for index, act in enumerate(candidates)
    ]
    return tuple(lines + ignored)


def _signal(act: MaintainerAct, effective: bool, reason: str) -> SignalLine:
    return SignalLine(act.login, act.verdict, act.source, act.at, effective, reason)


@dataclass(frozen=True)
class _Count:
    """The vote count against the threshold, once the voting window is known."""

    score: float
    threshold: float
    window_ends: datetime
    window_passed: bool
    counted_any: bool

    def reaches(self, score: float) -> bool:
        """Tell whether `score` meets the threshold (never with no votes, never at 0)."""
        return score > 0 and score >= self.threshold

    @property
    def passes(self) -> bool:
        """Tell whether the votes approve (after the window)."""
        return self.window_passed and self.counted_any and self.reaches(self.score)

    @property
    def fails(self) -> bool:
        """Tell whether the votes reject (after the window)."""
        return self.window_passed and self.score < 0 and self.score <= -self.threshold


@dataclass(frozen=True)
class _Result:
    outcome: VoteStatus
    reasons: tuple[str, ...]
    approved_hash: str | None
    held_since: datetime | None = None


def _held(
    votes: Sequence[VoteLine],
    latest: SignalLine | None,
    count: _Count,
    standing: Standing,
    policy: VotePolicy,
    current_hash: str,
    now: datetime,
) -> _Result:
    """Decide an approved issue whose text changed: confirmed again, or held."""
    since = standing.held_since or now
    # Only what happened after the change was noticed can confirm the new text.
    since_score = _score(line.value for line in votes if line.counted and line.reacted_at >= since)
    if latest is not None and latest.verdict == "approve" and latest.at >= since:
        reason = texts.REAPPROVED.format(login=latest.login, source=latest.source)
        return _Result("approved", (reason,), current_hash)
    if (
        not policy.require_maintainer_approval
        and count.window_passed
        and count.reaches(since_score)
    ):
        return _Result("approved", (texts.REVOTED.format(score=shown(since_score)),), current_hash)
    or_votes = "" if policy.require_maintainer_approval else texts.HELD_OR_VOTES
    reason = texts.HELD.format(since=short_time(since), or_votes=or_votes)
    return _Result("held", (reason,), standing.approved_body_hash, since)


def _pending(count: _Count) -> _Result:
    """Say what an issue still needs."""
    if count.passes:
        return _Result("pending", (texts.NEEDS_MAINTAINER,), None)
    reasons = []
    if not count.window_passed:
        reasons.append(texts.WINDOW_OPEN.format(ends=short_time(count.window_ends)))
    if not (count.counted_any and count.reaches(count.score)):
        reasons.append(
            texts.SCORE_SHORT.format(score=shown(count.score), threshold=count.threshold)
        )
    return _Result("pending", tuple(reasons), None)


def decide(
    issue: IssueSnapshot,
    policy: VotePolicy,
    facts: VoterFacts,
    acts: Sequence[MaintainerAct],
    standing: Standing,
    now: datetime,
) -> Decision:
    """Decide one issue: approved, pending, rejected or held, with the reasons."""
    current_hash = body_hash(issue.title, issue.body)
    votes = judge_votes(issue, policy, facts, now)
    signals = judge_signals(issue, policy, facts, acts)
    window_ends = issue.created_at + timedelta(hours=policy.window_hours)
    count = _Count(
        score=_score(line.value for line in votes if line.counted),
        threshold=policy.threshold,
        window_ends=window_ends,
        window_passed=now >= window_ends,
        counted_any=any(line.counted for line in votes),
    )
    latest = next((line for line in signals if line.effective), None)
    passed = texts.VOTES_PASSED.format(score=shown(count.score), threshold=count.threshold)
    votes_suffice = count.passes and not policy.require_maintainer_approval
    was_approved = (
        standing.decision in {"approved", "held"} and standing.approved_body_hash is not None
    )
    result: _Result
    if latest is not None and latest.verdict == "reject":
        when = short_time(latest.at)
        reason = texts.VETOED.format(login=latest.login, source=latest.source, at=when)
        result = _Result("rejected", (reason,), None)
    elif was_approved and standing.approved_body_hash != current_hash:
        result = _held(votes, latest, count, standing, policy, current_hash, now)
    elif latest is not None and latest.verdict == "approve":
        when = short_time(latest.at)
        reason = texts.MAINTAINER_APPROVED.format(login=latest.login, source=latest.source, at=when)
        result = _Result("approved", (reason,), current_hash)
    elif count.fails:
        reason = texts.VOTES_FAILED.format(score=shown(count.score), threshold=count.threshold)
        result = _Result("rejected", (reason,), None)
    elif was_approved:
        # Same words as when it passed while the votes still suffice: a steady tally stays equal.
        reason = passed if votes_suffice else texts.STILL_APPROVED
        result = _Result("approved", (reason,), standing.approved_body_hash)
    elif votes_suffice:
        result = _Result("approved", (passed,), current_hash)
    else:
        result = _pending(count)
    return Decision(
        number=issue.number,
        outcome=result.outcome,
        reasons=result.reasons,
        score=count.score,
        threshold=count.threshold,
        window_ends=window_ends,
        body_hash=current_hash,
        approved_body_hash=result.approved_hash,
        held_since=result.held_since,
        votes=votes,
        signals=signals,
    )
