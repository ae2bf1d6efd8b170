"""A worker's attempt as the store sees it: what it reads at the start, what it records at the end.

The worker reads one `AttemptInput` and, whatever happens, hands back one immutable
`AttemptReport`; `record_attempt_report` writes it in one transaction (attempt row, changed
files, the task's note, and the task's move to `pr_open` or back to the queue). A task that
moved on meanwhile (cancelled, vetoed, recovered as lost) keeps its state: the late result is
recorded on the attempt only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from app.clock import Clock
from app.store import Store, Tx
from app.store.attempts import (
    end_attempt_tx,
    fail_attempt_tx,
    live_attempt_tx,
    requeue_uncounted_tx,
)
from app.store.notes import Note, add_note_tx, read_notes_tx
from app.store.tasks import transition_tx
from app.taskstate import TaskState


class AttemptOutcome(StrEnum):
    """How an attempt ended; only `verified` work becomes a ready PR."""

    VERIFIED = "verified"
    BUILD_FAILED = "build_failed"
    NO_CHANGES = "no_changes"
    LIMIT_REACHED = "limit_reached"
    ERROR = "error"
    # GitHub or the model failed the attempt (5xx, rate limit, timeout, unreachable): the
    # attempt does not count, and the task is retried after a backoff (app/taskstate.py).
    UPSTREAM_ERROR = "upstream_error"  # app.taskstate.UPSTREAM_ERROR
    # The issue's text changed after approval: nothing was published; the attempt does not
    # count, and the task waits in the queue for approval to be confirmed.
    HELD = "held"
    # The repository's environment could not be set up before the agent started: the task goes
    # to a person (the log names the command and its output), and the attempt does not count.
    ENVIRONMENT_FAILED = "environment_failed"  # app.taskstate.ENVIRONMENT_FAILED


@dataclass(frozen=True)
class AttemptInput:
    """Everything read from the store about the task being attempted."""

    task_id: int
    attempt: int
    max_attempts: int
    issue_number: int
    title: str  # the issue's approved title and body (the task's snapshot), never a later edit
    body: str
    approved_hash: str  # their hash ("" when none is recorded: then the attempt is held)
    brief: str
    role: str
    complexity: str
    feedback: str | None
    base_sha: str
    owner: str
    repo: str
    default_branch: str
    installation_id: int
    notes: tuple[Note, ...] = ()
    holder: str = "worker"  # the lease holder recorded when the attempt was dispatched
    spent_usd: float = 0.0  # what earlier attempts of this task cost


@dataclass(frozen=True)
class PublishedPull:
    """The pull request an attempt opened or updated."""

    number: int
    head_sha: str
    branch: str
    reused: bool
    draft: bool


@dataclass(frozen=True)
class AttemptReport:
    """How one attempt ended, as the worker hands it back; recorded once, never changed."""

    task_id: int
    attempt: int
    outcome: AttemptOutcome
    log: str  # why it failed (what the next attempt hears), or the checks' report
    note: str  # what later attempts of the task read about this one
    transcript: str = ""
    diff: str | None = None
    changed_files: tuple[str, ...] = ()
    summary: str = ""
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    pull: PublishedPull | None = None


def read_attempt_input_tx(tx: Tx, task_id: int, attempt: int) -> AttemptInput:
    """Read what attempt `attempt` of a running task works from; LookupError if it is stale."""
    row = tx.fetchone(
        "SELECT t.*, r.full_name, r.default_branch, r.installation_id"
        " FROM tasks t JOIN repos r ON r.id = t.repo_id WHERE t.id = ?",
        (task_id,),
    )
    if row is None:
        raise LookupError(f"task {task_id} or its repository is not recorded")
    if row["state"] != TaskState.RUNNING or row["attempt"] != attempt:
        raise LookupError(
            f"task is {row['state']} at attempt {row['attempt']}, not running {attempt}"
        )
    owner, repo = str(row["full_name"]).split("/", 1)
    holder = tx.scalar(
        "SELECT worker FROM attempts WHERE task_id = ? AND number = ?", (task_id, attempt)
    )
    return AttemptInput(
        task_id=task_id,
        attempt=attempt,
        max_attempts=int(row["max_attempts"]),
        issue_number=int(row["issue_number"]),
        title=str(row["approved_title"] or ""),
        body=str(row["approved_body"] or ""),
        approved_hash=str(row["approved_hash"] or ""),
        brief=str(row["brief"] or ""),
        role=str(row["role"] or "developer"),
        complexity=str(row["complexity"] or "medium"),
        feedback=row["feedback"],
        base_sha=str(row["base_sha"]),
        owner=owner,
        repo=repo,
        default_branch=str(row["default_branch"]),
        installation_id=int(row["installation_id"]),
        notes=tuple(read_notes_tx(tx, task_id)),
        holder=str(holder or "worker"),
        spent_usd=float(row["cost_usd"] or 0.0),
    )


async def read_attempt_input(store: Store, task_id: int, attempt: int) -> AttemptInput:
    """Read what an attempt works from; LookupError if the task is not running it."""
    return await store.run(lambda tx: read_attempt_input_tx(tx, task_id, attempt))


def record_attempt_report_tx(tx: Tx, clock: Clock, report: AttemptReport) -> TaskState | None:
    """Record how an attempt ended; return the task's state if it moved on meanwhile."""
    moved_on = live_attempt_tx(tx, report.task_id, report.attempt)
    task_id, attempt, outcome = report.task_id, report.attempt, report.outcome
    log = f"{report.log}\n\n{report.transcript}".strip()
    if outcome == AttemptOutcome.HELD and moved_on is None:
        _hold_attempt_tx(tx, clock, report, log)
    elif outcome == AttemptOutcome.ENVIRONMENT_FAILED and moved_on is None:
        _environment_failed_tx(tx, clock, report, log)
    elif outcome == AttemptOutcome.VERIFIED:
        end_attempt_tx(
            tx, clock, task_id, attempt, outcome=outcome, log=log, diff=report.diff,
            cost_usd=report.cost_usd,
        )  # fmt: skip
    elif moved_on is None:
        # The next attempt hears why this one failed, not the tail of its transcript.
        fail_attempt_tx(
            tx, clock, task_id, attempt, outcome=outcome, log=log, diff=report.diff,
            feedback=report.log, cost_usd=report.cost_usd,
        )  # fmt: skip
    else:
        end_attempt_tx(
            tx, clock, task_id, attempt, outcome=outcome,
            log=f"(task {moved_on} meanwhile) {log}", diff=report.diff, cost_usd=report.cost_usd,
        )  # fmt: skip
    tx.execute(
        "UPDATE attempts SET changed_files = ? WHERE task_id = ? AND number = ?",
        (json.dumps(list(report.changed_files)), task_id, attempt),
    )
    add_note_tx(tx, clock, task_id, Note(attempt, outcome, report.note))
    if outcome == AttemptOutcome.VERIFIED and moved_on is None:
        _open_pull_tx(tx, clock, report)
    return moved_on


def _hold_attempt_tx(tx: Tx, clock: Clock, report: AttemptReport, log: str) -> None:
    """End a held attempt and queue its task again without using up an attempt."""
    task_id, attempt = report.task_id, report.attempt
    end_attempt_tx(
        tx, clock, task_id, attempt, outcome=report.outcome, log=log, diff=report.diff,
        cost_usd=report.cost_usd,
    )  # fmt: skip
    # Attempt numbers stay unique (each has its row); one more is allowed instead.
    requeue_uncounted_tx(
        tx, clock, task_id, actor="worker", failed=report.log,
        queued=f"attempt {attempt} held, not published; it does not count",
    )  # fmt: skip


def _environment_failed_tx(tx: Tx, clock: Clock, report: AttemptReport, log: str) -> None:
    """End the attempt and hand the task to a person, one more attempt allowed in its place."""
    task_id, attempt = report.task_id, report.attempt
    end_attempt_tx(
        tx, clock, task_id, attempt, outcome=report.outcome, log=log, diff=report.diff,
        cost_usd=report.cost_usd,
    )  # fmt: skip
    max_attempts = int(tx.scalar("SELECT max_attempts FROM tasks WHERE id = ?", (task_id,)))
    # The event's reason is what the needs-human comment on the issue says (app/ceo/notify_step).
    transition_tx(
        tx, clock, task_id, TaskState.NEEDS_HUMAN, actor="worker", reason=report.log,
        expect=[TaskState.RUNNING], max_attempts=max_attempts + 1,
    )  # fmt: skip


def _open_pull_tx(tx: Tx, clock: Clock, report: AttemptReport) -> None:
    pull = report.pull
    if pull is None:
        raise ValueError(f"verified attempt {report.attempt} of task {report.task_id} has no PR")
    transition_tx(
        tx,
        clock,
        report.task_id,
        TaskState.PR_OPEN,
        actor="worker",
        reason=f"PR #{pull.number} {'updated' if pull.reused else 'opened'}",
        expect=[TaskState.RUNNING],
        pr_number=pull.number,
        head_sha=pull.head_sha,
        branch=pull.branch,
        feedback=None,
    )


async def record_attempt_report(
    store: Store, clock: Clock, report: AttemptReport
) -> TaskState | None:
    """Record how an attempt ended in one transaction; return the task's state if it moved on."""
    return await store.run(lambda tx: record_attempt_report_tx(tx, clock, report))
