"""The control API under /_scripted, script files (TOML and JSON), and the `serve` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx
import pytest

from app.serving import free_port
from app.standins.scripted_model import (
    Match,
    ScriptedModel,
    ScriptFormatError,
    Text,
    ToolUse,
    load_file,
    scripts_from_json,
)
from tests.scripted_model.conftest import API_KEY, MODEL

PLANNER_TOML = """
[[scripts]]
name = "planner"
match = { system = "planner", tool_choice = "tool:plan" }

[[scripts.turns]]
content = [{ type = "tool_use", name = "plan", input = { role = "docs" } }]
usage = { input_tokens = 500, output_tokens = 20 }

[[scripts]]
name = "reviewer"
match = { system = "review" }

[[scripts.turns]]
content = "approve"
repeat = true
"""


def test_toml_file_loads_into_scripts(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(PLANNER_TOML)

    planner, reviewer = load_file(path)

    assert planner.name == "planner"
    assert planner.match == Match(system="planner", tool_choice="tool:plan")
    (turn,) = planner.turns
    assert turn.content == (ToolUse("plan", {"role": "docs"}),)
    assert turn.usage.input_tokens == 500 and turn.resolved_stop_reason == "tool_use"
    assert reviewer.turns[0].content == (Text("approve"),) and reviewer.turns[0].repeat


def test_json_turns_shorthand_is_the_default_script() -> None:
    (script,) = scripts_from_json({"turns": [{"content": "hi", "stop_reason": "max_tokens"}]})

    assert script.name == "default"
    assert script.turns[0].resolved_stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"turns": [{"content": "hi", "colour": "red"}]}, "turns[0]: unknown keys ['colour']"),
        ({"scripts": [{"turns": []}]}, "scripts[0].name"),
        ({"turns": [{"content": [{"type": "image"}]}]}, "turns[0].content[0]"),
        ({"turns": [{"content": "hi", "stop_reason": "tool_use"}]}, "needs at least one ToolUse"),
    ],
)
def test_bad_documents_name_the_problem(document: object, complaint: str) -> None:
    with pytest.raises(ScriptFormatError, match=complaint.replace("[", r"\[")):
        scripts_from_json(document)


def test_control_api_loads_injects_logs_and_resets(
    model: ScriptedModel, server: str, client: anthropic.Anthropic
) -> None:
    with httpx.Client(base_url=server, timeout=5) as http:
        loaded = http.post("/_scripted/scripts", json={"turns": [{"content": "from http"}]})
        faulted = http.post("/_scripted/faults", json={"kind": "overloaded", "retry_after": 1})
        with pytest.raises(anthropic.APIStatusError) as raised:
            client.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            )
        reply = client.messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
        log = http.get("/_scripted/requests").json()["requests"]
        state = http.get("/_scripted/state").json()
        bad = http.post("/_scripted/faults", json={"kind": "meteor"})
        reset = http.post("/_scripted/reset").json()

    assert loaded.json()["remaining"] == {"default": 1}
    assert faulted.json()["faults"][0]["kind"] == "overloaded"
    assert raised.value.status_code == 529
    assert getattr(reply.content[0], "text", None) == "from http"
    assert [(entry["status"], entry["outcome"]) for entry in log] == [
        (529, "fault"),
        (200, "served"),
    ]
    assert log[1]["script"] == "default" and log[1]["turn_index"] == 0
    assert log[1]["body"]["messages"] == [{"role": "user", "content": "hi"}]
    assert log[1]["response"]["content"] == [{"type": "text", "text": "from http"}]
    assert "x-api-key" not in log[1]["headers"] and log[1]["headers"]["anthropic-version"]
    assert state == {"remaining": {"default": 0}, "faults": []}
    assert bad.status_code == 400 and "meteor" in bad.json()["error"]
    assert reset == {"remaining": {}, "faults": []}
    assert model.requests == []


def test_unknown_path_answers_in_the_error_shape(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as http:
        response = http.get("/v1/models/claude-nothing")

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_serve_runs_a_script_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"scripts": [{"name": "chat", "turns": [{"content": "served"}]}]}))
    port = free_port()
    code = (
        "from pathlib import Path; from app.standins.scripted_model import serve; "
        f"serve('127.0.0.1', {port}, Path({str(path)!r}))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_listening(url)
        with anthropic.Anthropic(base_url=url, api_key=API_KEY, max_retries=0, timeout=5) as sdk:
            reply = sdk.messages.create(
                model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert getattr(reply.content[0], "text", None) == "served"


def _wait_until_listening(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_scripted/state", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {url}")
