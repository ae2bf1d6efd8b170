"""Versioned schema migrations, applied in order at start-up; each runs once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Timestamps are ISO 8601 text in UTC with microseconds (see app.store.times), so they sort.
SCHEMA_V1 = """
CREATE TABLE installations (
    id INTEGER PRIMARY KEY,
    account_login TEXT NOT NULL,
    account_type TEXT NOT NULL DEFAULT 'Organization',
    created_at TEXT NOT NULL,
    suspended_at TEXT,
    deleted_at TEXT
);
CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    installation_id INTEGER NOT NULL REFERENCES installations(id),
    full_name TEXT NOT NULL UNIQUE,
    default_branch TEXT NOT NULL DEFAULT 'main',
    active INTEGER NOT NULL DEFAULT 1,
    policy_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE issues (
    repo_id INTEGER NOT NULL REFERENCES repos(id),
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    body_hash TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    labels TEXT NOT NULL DEFAULT '[]',
    is_pull_request INTEGER NOT NULL DEFAULT 0,
    decision TEXT NOT NULL DEFAULT 'pending',
    decision_reason TEXT NOT NULL DEFAULT '',
    score REAL NOT NULL DEFAULT 0,
    approved_body_hash TEXT,
    tally_comment_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    swept_at TEXT,
    PRIMARY KEY (repo_id, number)
);
CREATE INDEX issues_by_decision ON issues(decision, state);
CREATE TABLE votes (
    repo_id INTEGER NOT NULL,
    issue_number INTEGER NOT NULL,
    login TEXT NOT NULL,
    content TEXT NOT NULL,
    weight REAL NOT NULL DEFAULT 1,
    counted INTEGER NOT NULL DEFAULT 1,
    reason TEXT NOT NULL DEFAULT '',
    reacted_at TEXT NOT NULL,
    PRIMARY KEY (repo_id, issue_number, login, content),
    FOREIGN KEY (repo_id, issue_number) REFERENCES issues(repo_id, number)
);
CREATE TABLE maintainer_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id INTEGER NOT NULL,
    issue_number INTEGER NOT NULL,
    login TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'retry')),
    source TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX maintainer_decisions_by_issue ON maintainer_decisions(repo_id, issue_number);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id INTEGER NOT NULL REFERENCES repos(id),
    issue_number INTEGER NOT NULL,
    state TEXT NOT NULL,
    role TEXT,
    brief TEXT,
    predicted_files TEXT NOT NULL DEFAULT '[]',
    complexity TEXT,
    priority REAL NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    passed_over INTEGER NOT NULL DEFAULT 0,
    branch TEXT,
    pr_number INTEGER,
    head_sha TEXT,
    base_sha TEXT,
    feedback TEXT,
    waiting_reason TEXT,
    cost_usd REAL NOT NULL DEFAULT 0,
    approved_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (repo_id, issue_number)
);
CREATE INDEX tasks_by_state ON tasks(state, priority DESC, approved_at);
CREATE TABLE attempts (
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'running',
    worker TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT,
    log TEXT,
    diff TEXT,
    cost_usd REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, number)
);
CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER,
    attempt INTEGER,
    role TEXT,
    phase TEXT NOT NULL,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    latency_ms REAL NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX llm_calls_by_task ON llm_calls(task_id, attempt);
CREATE INDEX llm_calls_by_day ON llm_calls(created_at);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    action TEXT,
    installation_id INTEGER,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'done', 'ignored', 'failed', 'dead')),
    tries INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_error TEXT,
    received_at TEXT NOT NULL,
    processed_at TEXT
);
CREATE INDEX deliveries_by_status ON deliveries(status, next_attempt_at);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER,
    repo_id INTEGER,
    issue_number INTEGER,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX events_by_task ON events(task_id, id);
CREATE TABLE pull_requests (
    repo_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    task_id INTEGER REFERENCES tasks(id),
    head_ref TEXT NOT NULL,
    head_sha TEXT NOT NULL,
    base_ref TEXT NOT NULL,
    state TEXT NOT NULL,
    merged INTEGER NOT NULL DEFAULT 0,
    merge_sha TEXT,
    changed_files TEXT NOT NULL DEFAULT '[]',
    last_review_state TEXT,
    reviewed_sha TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repo_id, number)
);
CREATE INDEX pull_requests_by_task ON pull_requests(task_id);
CREATE TABLE handled_comments (
    comment_id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL,
    issue_number INTEGER NOT NULL,
    command TEXT NOT NULL,
    reply_comment_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

# Votes (app/votes): the hold after an edit, fingerprints of what Townhall last showed on the
# issue (so an unchanged sweep edits nothing), withdrawn label vetoes, and per-sweep audit rows.
SCHEMA_V2 = """
ALTER TABLE issues ADD COLUMN held_since TEXT;
ALTER TABLE issues ADD COLUMN tally_fingerprint TEXT;
ALTER TABLE issues ADD COLUMN labels_applied TEXT;
ALTER TABLE issues ADD COLUMN snapshot_fingerprint TEXT;
ALTER TABLE maintainer_decisions ADD COLUMN withdrawn_at TEXT;
CREATE TABLE vote_sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    issues INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    graphql_requests INTEGER NOT NULL DEFAULT 0,
    graphql_cost INTEGER NOT NULL DEFAULT 0,
    rest_requests INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vote_sweeps_by_repo ON vote_sweeps(repo_id, id);
CREATE TABLE vote_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id INTEGER NOT NULL REFERENCES vote_sweeps(id),
    repo_id INTEGER NOT NULL,
    issue_number INTEGER NOT NULL,
    taken_at TEXT NOT NULL,
    decision TEXT NOT NULL,
    score REAL NOT NULL,
    body_hash TEXT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX vote_snapshots_by_issue ON vote_snapshots(repo_id, issue_number, id)
"""

# Observability (app/dashboard): timed steps of attempts and reviews, completed CEO ticks (for
# /healthz), and the indexes that keep the dashboard fast with many thousands of tasks.
SCHEMA_V3 = """
CREATE TABLE attempt_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    step TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL
);
CREATE INDEX attempt_steps_by_task ON attempt_steps(task_id, attempt, id);
CREATE INDEX attempt_steps_by_day ON attempt_steps(started_at);
CREATE TABLE ticks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticks_by_outcome ON ticks(ok, ended_at);
CREATE INDEX events_by_target ON events(to_state, created_at);
CREATE INDEX events_by_day ON events(created_at);
CREATE INDEX tasks_by_update ON tasks(updated_at);
CREATE INDEX attempts_by_end ON attempts(ended_at);
CREATE INDEX issues_by_score ON issues(state, score DESC)
"""

# Reviews (reviewer/): one row per reviewed PR head, with the verdict, why, the phase 1 report,
# the merge and the post-merge check, so the dashboard can show each review.
SCHEMA_V4 = """
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    attempt INTEGER NOT NULL,
    repo_id INTEGER NOT NULL,
    pr_number INTEGER NOT NULL,
    head_sha TEXT NOT NULL,
    base_sha TEXT NOT NULL DEFAULT '',
    decision TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    model_decision TEXT,
    overruled INTEGER NOT NULL DEFAULT 0,
    criteria TEXT NOT NULL DEFAULT '{}',
    static_report TEXT,
    github_review_id INTEGER,
    review_event TEXT,
    merge_sha TEXT,
    post_merge TEXT,
    post_merge_log TEXT,
    revert_sha TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX reviews_by_task ON reviews(task_id, id);
CREATE INDEX reviews_by_head ON reviews(task_id, head_sha);
CREATE INDEX reviews_by_post_merge ON reviews(outcome, post_merge)
"""

# The CEO tick's `tick_completed` events, found fast for /healthz and the dashboard.
SCHEMA_V5 = """
CREATE INDEX events_by_kind ON events(kind, created_at)
"""

# Workers: a task's memory across attempts (what each attempt did, why it failed, what it
# tried), and each attempt's actual changed files for the scheduler.
SCHEMA_V6 = """
CREATE TABLE task_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    attempt INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX task_notes_by_task ON task_notes(task_id, id);
ALTER TABLE attempts ADD COLUMN changed_files TEXT NOT NULL DEFAULT '[]'
"""

# The approved text (issue 16): each task keeps the title and body its issue was approved with,
# and their hash, so planning, attempts and reviews read what was approved, never a later edit.
# Existing tasks take their issue's text when it is still the approved text; the others get
# theirs when approval is next confirmed.
SCHEMA_V7 = """
ALTER TABLE tasks ADD COLUMN approved_title TEXT;
ALTER TABLE tasks ADD COLUMN approved_body TEXT;
ALTER TABLE tasks ADD COLUMN approved_hash TEXT;
UPDATE tasks SET
    approved_title = (SELECT i.title FROM issues i
        WHERE i.repo_id = tasks.repo_id AND i.number = tasks.issue_number),
    approved_body = (SELECT i.body FROM issues i
        WHERE i.repo_id = tasks.repo_id AND i.number = tasks.issue_number),
    approved_hash = (SELECT i.body_hash FROM issues i
        WHERE i.repo_id = tasks.repo_id AND i.number = tasks.issue_number)
    WHERE EXISTS (SELECT 1 FROM issues i
        WHERE i.repo_id = tasks.repo_id AND i.number = tasks.issue_number
        AND i.body_hash != '' AND i.body_hash = i.approved_body_hash)
"""

# Open PRs and commands (issue 16): the files of each open PR that may claim files (Townhall's,
# and people's with write access), kept with the head SHA they were listed at so a PR's files
# are listed again only when its head moves; and who each command came from, so replies are
# rate-limited per user (`silenced` says why a command got no reply).
SCHEMA_V8 = """
CREATE TABLE open_pull_files (
    repo_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    head_sha TEXT NOT NULL,
    files TEXT NOT NULL,
    PRIMARY KEY (repo_id, number)
);
ALTER TABLE handled_comments ADD COLUMN login TEXT NOT NULL DEFAULT '';
ALTER TABLE handled_comments ADD COLUMN silenced TEXT;
CREATE INDEX handled_comments_by_login ON handled_comments(login, created_at)
"""

# Dashboard access (issue 16): whether each repository is private, from GitHub's payloads.
# NULL means not known yet (rows recorded before this version): the dashboard treats those as
# private until a webhook about the repository records the real value.
SCHEMA_V9 = """
ALTER TABLE repos ADD COLUMN private INTEGER
"""

# Reviews are posted once per head: the verdict and what it posts (event, body, inline comments,
# the worker's feedback) are stored before posting, so a restart acts on it without asking the
# model again (reviewer/applying.py).
SCHEMA_V10 = """
ALTER TABLE reviews ADD COLUMN draft TEXT
"""

# Catch-up (app/ceo/catch_up.py): GitHub never redelivers a webhook that failed, so each tick
# reads what was said while Townhall was down. A command's reply is saved before it is posted
# (a crash after posting finds the reply by its marker), a decision is recorded once per command
# comment, and each repository keeps the time up to which it has caught up.
SCHEMA_V11 = """
ALTER TABLE handled_comments ADD COLUMN reply_body TEXT;
ALTER TABLE maintainer_decisions ADD COLUMN comment_id INTEGER;
CREATE UNIQUE INDEX maintainer_decisions_by_comment ON maintainer_decisions(comment_id)
    WHERE comment_id IS NOT NULL;
CREATE TABLE catch_up_marks (
    repo_id INTEGER PRIMARY KEY,
    caught_up_to TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""

# Concurrent inbox (issue 20): each delivery's lane (its repository and issue or PR number, or
# only its repository or installation) is stored, so the store hands out one delivery per lane
# at a time and deliveries about one issue run in the order received. Older rows have no lane.
SCHEMA_V12 = """
ALTER TABLE deliveries ADD COLUMN lane TEXT;
CREATE INDEX deliveries_by_lane ON deliveries(lane, status)
"""

# Environments (issue 15): the build and test commands' results at a base commit, once per
# repository, base commit and environment key, so a failure that was already there before a
# task's change is told apart from one the change made (app/sandbox/baseline.py). `checks` is
# a JSON list of {name, command, passed, exit_code, timed_out, failures}.
SCHEMA_V13 = """
CREATE TABLE baselines (
    repo TEXT NOT NULL,
    base_sha TEXT NOT NULL,
    environment_key TEXT NOT NULL,
    passed INTEGER NOT NULL,
    checks TEXT NOT NULL,
    report TEXT NOT NULL,
    seconds REAL NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repo, base_sha, environment_key)
)
"""

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, SCHEMA_V1),
    (2, SCHEMA_V2),
    (3, SCHEMA_V3),
    (4, SCHEMA_V4),
    (5, SCHEMA_V5),
    (6, SCHEMA_V6),
    (7, SCHEMA_V7),
    (8, SCHEMA_V8),
    (9, SCHEMA_V9),
    (10, SCHEMA_V10),
    (11, SCHEMA_V11),
    (12, SCHEMA_V12),
    (13, SCHEMA_V13),
)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (migrations hold no `;` inside literals)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def apply_migrations(connection: Any, migrations: tuple[tuple[int, str], ...]) -> list[int]:
    """Apply every migration newer than the database's version, each in its own transaction.

    Return the versions applied. Safe to run again: applied versions are skipped.
    """
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied: list[int] = []
    for version, script in migrations:
        connection.execute("BEGIN IMMEDIATE")
        try:
            done = connection.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if done is None:
                for statement in _statements(script):
                    connection.execute(statement)
                connection.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, datetime.now(UTC).isoformat(timespec="microseconds")),
                )
                applied.append(version)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    return applied
