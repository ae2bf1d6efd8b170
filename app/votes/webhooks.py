"""Webhook handlers for votes: maintainer labels as approve/veto, and debounced sweeps.

GitHub sends no webhook for reactions, so reactions are only seen by sweeps; issue events
(opened, edited, labelled) and maintainer commands ask for an early, debounced sweep.

Who applied a label is taken from the `labeled` webhook's sender, whose write permission is
checked through the API at that moment, and recorded as a maintainer decision (source `label`).
Anyone with triage rights can label an issue, and Townhall applies these same labels itself, so
the label's presence alone proves nothing; the delivery names the person, and GitHub signs it.
A maintainer removing the label withdraws that decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import Clock
from app.commands import Verb, parse_command
from app.store import Tx
from app.store.decisions import (
    add_maintainer_decision_tx,
    standing_label_decision_tx,
    withdraw_label_decisions_tx,
)
from app.store.issue_tasks import task_of_issue_tx
from app.store.tasks import record_event, transition_tx
from app.taskstate import TERMINAL, TaskState
from app.votes.debounce import SweepDebouncer
from app.votes.sweep import RepoRef
from app.votes.tally import STATE_LABELS
from app.webhooks.handler_context import HandlerContext, ensure_repository_tx, is_bot, repo_of
from app.webhooks.permissions import api_lookup
from app.webhooks.router import Router

# The labels a maintainer may apply to approve or veto, and what each means.
OVERRIDE_LABELS = {STATE_LABELS["approved"]: "approve", STATE_LABELS["rejected"]: "reject"}
_SWEEP_ACTIONS = {"opened", "edited", "reopened", "labeled", "unlabeled"}


def repo_ref(payload: dict[str, Any]) -> RepoRef | None:
    """Return the delivery's repository as a RepoRef, when it names an installation."""
    installation = payload.get("installation") or {}
    repository = payload.get("repository") or {}
    if not installation.get("id") or not repository.get("id"):
        return None
    return RepoRef(int(repository["id"]), int(installation["id"]), repository["full_name"])


async def _is_maintainer(context: HandlerContext, payload: dict[str, Any], login: str) -> bool:
    owner, repo = repo_of(payload)
    async with await context.client() as client:
        return await context.permissions.is_maintainer(owner, repo, login, api_lookup(client))


@dataclass(frozen=True)
class LabelChange:
    """A maintainer adding or removing an approve/veto label, from a webhook or the events."""

    issue_number: int
    login: str
    label: str
    added: bool
    made_at: datetime | None = None

    @property
    def verdict(self) -> str:
        """Return what the label means: `approve` or `reject`."""
        return OVERRIDE_LABELS[self.label]


def record_label_change_tx(tx: Tx, clock: Clock, repo_id: int, change: LabelChange) -> bool:
    """Record (or, for a removal, withdraw) a maintainer's decision by label, once.

    Once: a label that already stands by this maintainer, or a removal with nothing standing,
    changes nothing, so the webhook and the tick's catch-up may both bring the same change.
    A veto also cancels the issue's task at once, as `/townhall reject` does, so no scheduling
    happens on a vetoed issue before the next vote sweep (which may be busy) confirms it.
    """
    number, login, verdict = change.issue_number, change.login, change.verdict
    if change.added:
        if standing_label_decision_tx(tx, repo_id, number, login, verdict):
            return False
        add_maintainer_decision_tx(
            tx, clock, repo_id, number, login, verdict, "label", made_at=change.made_at
        )
    elif not withdraw_label_decisions_tx(tx, clock, repo_id, number, verdict):
        return False
    record_event(
        tx,
        clock,
        actor=login,
        kind=f"maintainer_{verdict}" if change.added else f"maintainer_{verdict}_withdrawn",
        repo_id=repo_id,
        issue_number=number,
        reason=f"label {change.label} {'added' if change.added else 'removed'}",
    )
    task = task_of_issue_tx(tx, repo_id, number)
    if change.added and verdict == "reject" and task is not None and task.state not in TERMINAL:
        reason = f"vetoed with the label {change.label}"
        transition_tx(tx, clock, task.id, TaskState.CANCELLED, actor=login, reason=reason)
    return True


def _record_label_tx(tx: Tx, context: HandlerContext, payload: dict[str, Any], added: bool) -> None:
    """Record the delivery's label change as the sender's decision."""
    repo_id = ensure_repository_tx(tx, context.clock, payload)
    if repo_id is None:
        return
    change = LabelChange(
        issue_number=payload["issue"]["number"],
        login=payload["sender"]["login"],
        label=payload["label"]["name"],
        added=added,
    )
    record_label_change_tx(tx, context.clock, repo_id, change)


def build_vote_router(debouncer: SweepDebouncer | None) -> Router:
    """Return the votes' webhook router; with a debouncer, issue events ask for early sweeps."""
    router = Router()

    def poke(payload: dict[str, Any]) -> None:
        ref = repo_ref(payload)
        if debouncer is not None and ref is not None:
            debouncer.poke(ref, int(payload["issue"]["number"]))

    @router.register("issues")
    async def on_issue(context: HandlerContext, payload: dict[str, Any]) -> None:
        """Turn a maintainer's approve/veto label into a decision; ask for a sweep."""
        action = payload.get("action", "")
        sender = payload.get("sender") or {}
        if is_bot(sender) or action not in _SWEEP_ACTIONS:
            return  # Townhall's own label changes need no new sweep
        label = (payload.get("label") or {}).get("name", "")
        verdict = OVERRIDE_LABELS.get(label) if action in {"labeled", "unlabeled"} else None
        if verdict is not None and await _is_maintainer(context, payload, sender["login"]):
            added = action == "labeled"
            await context.store.run(lambda tx: _record_label_tx(tx, context, payload, added))
        poke(payload)

    @router.register("issue_comment", "created")
    async def on_command(context: HandlerContext, payload: dict[str, Any]) -> None:
        """Ask for a sweep after `/townhall approve|reject` (the command handler records it)."""
        if is_bot(payload.get("sender")):
            return
        command = parse_command((payload.get("comment") or {}).get("body") or "")
        if command is not None and command.verb in {Verb.APPROVE, Verb.REJECT}:
            poke(payload)

    return router
