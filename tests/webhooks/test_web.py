"""POST /webhook over real HTTP: signatures, limits, bad input, duplicates, processing."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from app.serving import ServerThread
from app.wiring import Runtime
from tests.webhooks.conftest import SECRET
from tests.webhooks.payloads import issues_event, signed


def deliveries(runtime: Runtime) -> list[dict[str, Any]]:
    return runtime.store.run_sync(lambda tx: tx.fetchall("SELECT * FROM deliveries"))


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def post(server: ServerThread, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/webhook", content=body, headers=headers, timeout=10)


def test_bad_and_missing_signatures_are_rejected(served: ServerThread, runtime: Runtime) -> None:
    body, headers = signed(issues_event("opened"), "wrong-secret", "issues")
    assert post(served, body, headers).status_code == 401
    del headers["X-Hub-Signature-256"]
    assert post(served, body, headers).status_code == 401
    headers["X-Hub-Signature-256"] = "sha1=abc"
    assert post(served, body, headers).status_code == 401
    assert deliveries(runtime) == []


def test_oversized_body_is_refused(served: ServerThread, runtime: Runtime) -> None:
    payload = issues_event("opened", body="x" * 70_000)
    body, headers = signed(payload, SECRET, "issues")
    assert post(served, body, headers).status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit must hold while streaming too
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = httpx.post(f"{served.url}/webhook", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert deliveries(runtime) == []


def test_malformed_json_and_missing_headers_are_400(served: ServerThread) -> None:
    body, headers = signed(b"{not json", SECRET, "issues")
    response = post(served, body, headers)
    assert response.status_code == 400
    assert "not a JSON object" in response.json()["error"]
    body, headers = signed(b"\xff{}", SECRET, "issues")
    assert "not JSON" in post(served, body, headers).json()["error"]
    body, headers = signed(b"[1, 2]", SECRET, "issues")
    assert post(served, body, headers).status_code == 400
    body, headers = signed(issues_event("opened"), SECRET, "issues")
    del headers["X-GitHub-Delivery"]
    assert post(served, body, headers).status_code == 400


def test_issue_opened_is_stored_acknowledged_and_processed(
    served: ServerThread, runtime: Runtime
) -> None:
    body, headers = signed(issues_event("opened", title="Dark mode"), SECRET, "issues", "d-1")
    response = post(served, body, headers)
    assert response.status_code == 202
    assert response.json() == {"delivery": "d-1", "status": "accepted"}
    wait_for(lambda: deliveries(runtime)[0]["status"] == "done")
    issue = runtime.store.run_sync(lambda tx: tx.fetchone("SELECT * FROM issues"))
    assert issue is not None
    assert (issue["number"], issue["title"], issue["author"]) == (1, "Dark mode", "alice")
    repo = runtime.store.run_sync(lambda tx: tx.fetchone("SELECT * FROM repos"))
    assert repo is not None and repo["full_name"] == "octo/demo"


def test_unknown_event_is_stored_and_ignored(served: ServerThread, runtime: Runtime) -> None:
    body, headers = signed({"action": "created", "starred_at": None}, SECRET, "star")
    assert post(served, body, headers).status_code == 202
    wait_for(lambda: deliveries(runtime)[0]["status"] == "ignored")


def test_the_same_delivery_three_times_has_one_effect(
    served: ServerThread, runtime: Runtime
) -> None:
    body, headers = signed(issues_event("edited", body="new text"), SECRET, "issues", "same")
    answers = [post(served, body, headers).json()["status"] for _ in range(3)]
    assert answers == ["accepted", "duplicate", "duplicate"]
    wait_for(lambda: deliveries(runtime)[0]["status"] == "done")
    time.sleep(0.2)
    events = runtime.store.run_sync(
        lambda tx: tx.fetchall("SELECT * FROM events WHERE kind = 'issue_edited'")
    )
    assert len(deliveries(runtime)) == 1
    assert len(events) == 1


def test_issue_lifecycle_keeps_the_row_current(served: ServerThread, runtime: Runtime) -> None:
    steps: list[tuple[str, dict[str, Any]]] = [
        ("opened", {}),
        ("edited", {"title": "Renamed"}),
        ("labeled", {}),
        ("closed", {}),
        ("reopened", {}),
        ("deleted", {}),
    ]
    for action, fields in steps:
        payload = issues_event(action, **fields)
        if action == "labeled":
            payload["issue"]["labels"] = [{"id": 1, "name": "townhall:approved", "color": "0e8a16"}]
        if action == "closed":
            payload["issue"]["state"] = "closed"
        body, headers = signed(payload, SECRET, "issues")
        assert post(served, body, headers).status_code == 202
        wait_for(lambda: all(d["status"] == "done" for d in deliveries(runtime)))
        issue = runtime.store.run_sync(lambda tx: tx.fetchone("SELECT * FROM issues"))
        assert issue is not None
        if action == "edited":
            assert issue["title"] == "Renamed"
        if action == "labeled":
            assert json.loads(issue["labels"]) == ["townhall:approved"]
        if action in {"closed", "reopened", "deleted"}:
            assert issue["state"] == {"closed": "closed", "reopened": "open"}.get(action, action)


def test_healthz(served: ServerThread) -> None:
    response = httpx.get(f"{served.url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_concurrent_deliveries_are_all_stored(served: ServerThread, runtime: Runtime) -> None:
    async def send_all() -> list[int]:
        async with httpx.AsyncClient(base_url=served.url) as client:

            async def send(n: int) -> int:
                body, headers = signed(issues_event("opened", number=n), SECRET, "issues")
                response = await client.post("/webhook", content=body, headers=headers)
                return response.status_code

            return await asyncio.gather(*(send(n) for n in range(1, 101)))

    assert set(asyncio.run(send_all())) == {202}
    wait_for(lambda: {d["status"] for d in deliveries(runtime)} == {"done"})
    count = runtime.store.run_sync(lambda tx: tx.scalar("SELECT COUNT(*) FROM issues"))
    assert count == 100


def test_a_fork_pull_request_on_a_townhall_branch_is_not_linked_to_the_task(
    served: ServerThread, runtime: Runtime
) -> None:
    """Issue 16, finding 5: anyone may name a fork's branch `townhall/issue-N`."""
    from app.clock import SystemClock
    from app.store import Tx
    from app.store.tasks import create_task_tx
    from tests.webhooks.payloads import pull_request_event, repository, user

    body, headers = signed(issues_event("opened", number=1), SECRET, "issues")
    post(served, body, headers)
    wait_for(lambda: deliveries(runtime)[0]["status"] == "done")

    def seed(tx: Tx) -> None:
        create_task_tx(
            tx,
            SystemClock(),
            repo_id=42,
            issue_number=1,
            max_attempts=3,
            priority=0,
            actor="t",
            reason="r",
        )

    runtime.store.run_sync(seed)
    mallory = user("mallory", 666)
    fork = repository("mallory", "demo", repo_id=4242)
    for payload in (
        pull_request_event("opened", 5, "townhall/issue-1", author=mallory, head_repo=fork),
        pull_request_event("opened", 6, "feature/people-work", author=mallory),
        # Even the App's login on a fork's branch is not the App's PR.
        pull_request_event("synchronize", 7, "townhall/issue-1", head_repo=fork),
    ):
        body, headers = signed(payload, SECRET, "pull_request")
        assert post(served, body, headers).status_code == 202
    wait_for(
        lambda: (
            all(d["status"] == "done" for d in deliveries(runtime))
            and len(deliveries(runtime)) == 4
        )
    )
    # Decided from the payload alone: GitHub (a discard port here) was never asked.
    assert runtime.store.run_sync(lambda tx: tx.fetchall("SELECT * FROM pull_requests")) == []
    task = runtime.store.run_sync(
        lambda tx: tx.fetchone("SELECT pr_number, head_sha, branch FROM tasks")
    )
    assert task == {"pr_number": None, "head_sha": None, "branch": None}


def test_repositories_added_and_removed_follow_the_installation(
    served: ServerThread, runtime: Runtime
) -> None:
    from tests.webhooks.payloads import user

    installation = {"id": 9, "account": user("octo", 100, "Organization")}
    added = {
        "action": "added",
        "installation": installation,
        "repositories_added": [{"id": 42, "name": "demo", "full_name": "octo/demo"}],
        "repositories_removed": [],
        "sender": user("octo", 100),
    }
    removed = {**added, "action": "removed", "repositories_added": []}
    removed["repositories_removed"] = [{"id": 42, "name": "demo", "full_name": "octo/demo"}]
    for payload in (added, removed):
        body, headers = signed(payload, SECRET, "installation_repositories")
        assert post(served, body, headers).status_code == 202
        wait_for(lambda: all(d["status"] == "done" for d in deliveries(runtime)))
        repo = runtime.store.run_sync(lambda tx: tx.fetchone("SELECT full_name, active FROM repos"))
        assert repo == {"full_name": "octo/demo", "active": 1 if payload is added else 0}
