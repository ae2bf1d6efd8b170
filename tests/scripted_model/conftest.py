"""Fixtures: a scripted model served on loopback and real anthropic clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest
from anthropic.types import ToolParam

from app.scripted_model import ScriptedModel
from app.serving import ServerThread

API_KEY = "test-key"
MODEL = "claude-sonnet-4-6"
# Every client call is bounded: a hung server fails the test instead of stalling the suite.
CLIENT_TIMEOUT = 5.0

TOOLS: list[ToolParam] = [
    {
        "name": "read_file",
        "description": "Read a file from the checkout.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
    {
        "name": "plan",
        "description": "Record the plan for an issue.",
        "input_schema": {"type": "object", "properties": {"role": {"type": "string"}}},
    },
]


@pytest.fixture
def model() -> ScriptedModel:
    """Return an empty scripted model; tests load their own scripts."""
    return ScriptedModel()


@pytest.fixture
def server(model: ScriptedModel) -> Iterator[ServerThread]:
    """Serve `model` on a free loopback port for the test."""
    with ServerThread(model.create_app()) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[anthropic.Anthropic]:
    """Return a sync SDK client without retries, so each call is one request."""
    with anthropic.Anthropic(
        base_url=server.url, api_key=API_KEY, max_retries=0, timeout=CLIENT_TIMEOUT
    ) as sdk:
        yield sdk


@pytest.fixture
async def async_client(server: ServerThread) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """Return an async SDK client without retries."""
    async with anthropic.AsyncAnthropic(
        base_url=server.url, api_key=API_KEY, max_retries=0, timeout=CLIENT_TIMEOUT
    ) as sdk:
        yield sdk
