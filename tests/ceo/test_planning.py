"""Planning through the real SDK against the scripted model: valid, corrected, and failed plans."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from app.ceo.planning import PlanError, plan_issue, validate_plan
from app.clock import ManualClock
from app.llm import LLM, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES
from app.standins.scripted_model import Script, ScriptedModel, ToolUse, Turn
from app.store import Store

TREE = ["README.md", "app/routes.py", "app/models.py", "tests/test_routes.py", ".townhall.toml"]
ROLES = ["developer", "docs-writer", "test-writer"]


def protected(path: str) -> bool:
    return path == ".townhall.toml" or path.startswith(".github/")


def good_plan(**changes: Any) -> dict[str, Any]:
    return {
        "role": "developer",
        "what": "Add a /health route",
        "why": "Users asked for a health check",
        "acceptance_criteria": ["GET /health answers 200"],
        "test_case": "client.get('/health').status_code == 200",
        "files": ["app/routes.py", "tests/test_health.py"],
        "complexity": "small",
        **changes,
    }


def test_valid_plan_is_accepted_with_new_files_in_existing_directories() -> None:
    plan = validate_plan(good_plan(), ROLES, TREE, protected)
    assert plan.files == ("app/routes.py", "tests/test_health.py")
    assert plan.tier == "fast"
    assert "## Acceptance criteria\n- GET /health answers 200" in plan.brief()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"role": "wizard"}, "role 'wizard'"),
        ({"files": ["../etc/passwd"]}, "not a clean path"),
        ({"files": ["/abs.py"]}, "not a clean path"),
        ({"files": ["newdir/x.py"]}, "neither an existing file nor in an existing directory"),
        ({"files": [".townhall.toml"]}, "protected"),
        ({"files": []}, "files must be a non-empty list"),
        ({"complexity": "epic"}, "complexity 'epic'"),
        ({"what": "  "}, "what must be a non-empty string"),
    ],
)
def test_invalid_plans_name_the_problem(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(PlanError, match=problem):
        validate_plan(good_plan(**changes), ROLES, TREE, protected)


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedModel, str]]:
    model = ScriptedModel()
    with ServerThread(model.create_app()) as server:
        yield model, server.url


def llm_for(url: str, store: Store, clock: ManualClock) -> LLM:
    client = anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0, timeout=10)
    return LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))


async def test_an_invalid_plan_is_retried_once_with_the_error(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    model.load(
        [
            Script(
                "planner",
                [
                    Turn([ToolUse("submit_plan", good_plan(files=["nowhere/x.py"]))]),
                    Turn([ToolUse("submit_plan", good_plan())]),
                ],
            )
        ]
    )
    plan = await plan_issue(
        llm_for(url, store, clock),
        task_id=1,
        message="plan this",
        roles=ROLES,
        tree=TREE,
        is_protected=protected,
    )
    assert plan.role == "developer"
    second = model.requests[1].body
    assert second["tool_choice"] == {"type": "tool", "name": "submit_plan"}
    feedback = second["messages"][-1]["content"][0]
    assert feedback["type"] == "tool_result" and feedback["is_error"] is True
    assert "nowhere/x.py" in feedback["content"]
    calls = await store.fetchall("SELECT phase, task_id FROM llm_calls")
    assert calls == [{"phase": "plan", "task_id": 1}] * 2


async def test_two_invalid_plans_give_up(
    scripted: tuple[ScriptedModel, str], store: Store, clock: ManualClock
) -> None:
    model, url = scripted
    bad = Turn([ToolUse("submit_plan", good_plan(role="wizard"))])
    model.load([Script("planner", [bad, bad])])
    with pytest.raises(PlanError, match="wizard"):
        await plan_issue(
            llm_for(url, store, clock),
            task_id=1,
            message="plan this",
            roles=ROLES,
            tree=TREE,
            is_protected=protected,
        )
    assert len(model.requests) == 2
