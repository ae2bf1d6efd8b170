"""The LLM wrapper through the real SDK against the scripted model server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import anthropic
import pytest

from app.clock import ManualClock
from app.llm import LLM, MAX_RETRIES, CallContext, call_cost, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, Price
from app.standins.scripted_model import Fault, Script, ScriptedModel, Text, ToolUse, Turn, Usage
from app.store import Store, Tx
from app.store.attempts import start_attempt_tx
from app.store.llm_calls import LLMCall, dollars_per_merged_task, record_llm_call
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import TaskState

PLAN_TOOL = {
    "name": "plan",
    "description": "Record the plan.",
    "input_schema": {"type": "object", "properties": {"role": {"type": "string"}}},
}


@pytest.fixture
def model() -> Iterator[tuple[ScriptedModel, str]]:
    scripted = ScriptedModel()
    with ServerThread(scripted.create_app()) as server:
        yield scripted, server.url


def make_llm(url: str, store: Store, clock: ManualClock) -> LLM:
    client = anthropic.AsyncAnthropic(
        api_key="test-key", base_url=url, max_retries=MAX_RETRIES, timeout=10
    )
    return LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))


async def test_call_is_priced_and_recorded(
    model: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    scripted, url = model
    scripted.load(
        [
            Script(
                "planner",
                [
                    Turn(
                        [ToolUse("plan", {"role": "developer"})],
                        usage=Usage(input_tokens=1000, output_tokens=200),
                    )
                ],
            )
        ]
    )
    llm = make_llm(url, store, clock)
    reply = await llm.create(
        tier="fast",
        system="You plan work.",
        messages=[{"role": "user", "content": "Plan issue 3"}],
        tools=[PLAN_TOOL],
        tool_choice={"type": "tool", "name": "plan"},
        context=CallContext(phase="plan", task_id=7, attempt=1, role="ceo"),
    )
    assert reply.content[0].type == "tool_use"
    rows = await store.fetchall("SELECT * FROM llm_calls")
    assert len(rows) == 1
    row = rows[0]
    assert (row["task_id"], row["attempt"], row["role"], row["phase"]) == (7, 1, "ceo", "plan")
    assert row["model"] == DEFAULT_MODELS["fast"]
    assert (row["input_tokens"], row["output_tokens"]) == (1000, 200)
    price = DEFAULT_PRICES[DEFAULT_MODELS["fast"]]
    tokens = {
        "input": 1000,
        "output": 200,
        "cache_write": row["cache_creation_tokens"],
        "cache_read": row["cache_read_tokens"],
    }
    assert row["cost_usd"] == pytest.approx(call_cost(price, tokens))
    assert row["cost_usd"] > (1000 * price.input_per_mtok + 200 * price.output_per_mtok) / 1e6
    sent = scripted.requests[0].body
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}


async def test_stable_prefix_is_read_from_cache_on_repeat(
    model: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    scripted, url = model
    scripted.load([Script("s", [Turn([Text("ok")], repeat=True)])])
    llm = make_llm(url, store, clock)
    system = "A long stable role prompt. " * 200
    for question in ("first", "second"):
        await llm.create(
            tier="standard",
            system=system,
            messages=[{"role": "user", "content": question}],
            context=CallContext(phase="agent"),
        )
    rows = await store.fetchall("SELECT * FROM llm_calls ORDER BY id")
    assert rows[0]["cache_creation_tokens"] > 0
    assert rows[1]["cache_read_tokens"] > 0


async def test_overload_is_retried_and_recorded_once(
    model: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    scripted, url = model
    scripted.load([Script("s", [Turn([Text("made it")])])])
    scripted.inject(Fault("overloaded", count=2, retry_after=0.05))
    reply = await make_llm(url, store, clock).create(
        tier="fast",
        system="s",
        messages=[{"role": "user", "content": "hi"}],
        context=CallContext(phase="plan"),
    )
    assert reply.content[0].type == "text"
    assert [r.status for r in scripted.requests] == [529, 529, 200]
    assert len(await store.fetchall("SELECT * FROM llm_calls")) == 1


async def test_a_failed_call_is_recorded_with_its_error(
    model: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    scripted, url = model
    scripted.inject(Fault("rate_limit", count=MAX_RETRIES + 1, retry_after=0.01))
    with pytest.raises(anthropic.RateLimitError):
        await make_llm(url, store, clock).create(
            tier="fast",
            system="s",
            messages=[{"role": "user", "content": "hi"}],
            context=CallContext(phase="plan", task_id=3),
        )
    rows = await store.fetchall("SELECT * FROM llm_calls")
    assert len(rows) == 1
    assert "RateLimitError 429" in rows[0]["error"]
    assert rows[0]["cost_usd"] == 0


def test_cost_includes_cache_writes_and_reads() -> None:
    price = Price(3.0, 15.0)
    tokens = {"input": 100, "output": 10, "cache_write": 1000, "cache_read": 10_000}
    expected = (100 * 3 + 10 * 15 + 1000 * 3 * 1.25 + 10_000 * 3 * 0.1) / 1_000_000
    assert call_cost(price, tokens) == pytest.approx(expected)
    assert call_cost(None, tokens) == 0


def seed_tasks(tx: Tx, clock: ManualClock) -> dict[str, int]:
    """Two repositories: a merged and a failed task in one, a merged task in the other."""
    tx.execute("INSERT INTO installations (id, account_login, created_at) VALUES (5, 'o', '')")
    for repo_id in (1, 2):
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, default_branch, created_at,"
            " updated_at) VALUES (?, 5, ?, 'main', '', '')",
            (repo_id, f"o/r{repo_id}"),
        )
    ids = {}
    for name, repo_id, number, end in (
        ("merged", 1, 1, TaskState.MERGED),
        ("failed", 1, 2, TaskState.FAILED),
        ("other_repo", 2, 3, TaskState.MERGED),
    ):
        task = create_task_tx(
            tx, clock, repo_id=repo_id, issue_number=number, max_attempts=3, priority=1,
            actor="test", reason="seed",
        )  # fmt: skip
        transition_tx(tx, clock, task.id, TaskState.PLANNED, actor="ceo", reason="planned")
        transition_tx(tx, clock, task.id, TaskState.QUEUED, actor="ceo", reason="queued")
        start_attempt_tx(tx, clock, task.id, "base", "ceo", "w")
        if end == TaskState.MERGED:
            transition_tx(tx, clock, task.id, TaskState.PR_OPEN, actor="w", reason="pr")
        transition_tx(tx, clock, task.id, end, actor="ceo", reason="end")
        ids[name] = task.id
    return ids


async def test_dollars_per_merged_task_from_the_store(store: Store, clock: ManualClock) -> None:
    ids = await store.run(lambda tx: seed_tasks(tx, clock))
    spend = {"merged": (0.5, 1.5), "failed": (2.0,), "other_repo": (4.0,)}
    for name, costs in spend.items():
        for cost in costs:
            call = LLMCall(
                phase="agent", model="m", task_id=ids[name], attempt=1, role="developer",
                input_tokens=0, output_tokens=0, cache_creation_tokens=0, cache_read_tokens=0,
                cost_usd=cost, latency_ms=1.0, error=None, created_at=clock.now(),
            )  # fmt: skip
            await record_llm_call(store, call)
    every = await dollars_per_merged_task(store)
    assert (every.merged_tasks, every.merged_usd, every.all_tasks_usd) == (2, 6.0, 8.0)
    assert every.per_merged_task == pytest.approx(3.0)
    assert every.all_in_per_merged_task == pytest.approx(4.0)
    one_repo = await dollars_per_merged_task(store, repo_ids={1})
    assert one_repo.merged_tasks == 1
    assert one_repo.per_merged_task == pytest.approx(2.0)
    assert one_repo.all_in_per_merged_task == pytest.approx(4.0)  # the failed task's $2 too
    assert (await dollars_per_merged_task(store, since=clock.now())).merged_tasks == 2
    later = await dollars_per_merged_task(store, since=clock.now() + timedelta(seconds=1))
    assert (later.merged_tasks, later.per_merged_task, later.all_tasks_usd) == (0, None, 0.0)
