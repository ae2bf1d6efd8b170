"""Fixtures: a scripted model served on loopback and real anthropic clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import anthropic
import pytest
from anthropic.types import ToolParam
from starlette.types import ASGIApp, Receive, Scope, Send

from app.serving import ServerThread
from app.standins.scripted_model import ScriptedModel

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


class SwappableApp:
    """An ASGI app that forwards to the app the running test installed.

    One uvicorn server then serves the whole session: stopping a server costs a few tenths of
    a second, which per test would dominate the suite's run time.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "no test installed an app"
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def shared_server() -> Iterator[tuple[ServerThread, SwappableApp]]:
    """Run one loopback server for the session."""
    swappable = SwappableApp()
    with ServerThread(swappable) as running:
        yield running, swappable


@pytest.fixture
def serve(
    shared_server: tuple[ServerThread, SwappableApp],
) -> Iterator[Callable[[ScriptedModel], str]]:
    """Return a function that serves a model on the shared server and gives its base URL."""
    running, swappable = shared_server

    def install(model: ScriptedModel) -> str:
        swappable.app = model.create_app()
        return running.url

    yield install
    swappable.app = None


@pytest.fixture
def model() -> ScriptedModel:
    """Return an empty scripted model; tests load their own scripts."""
    return ScriptedModel()


@pytest.fixture
def server(model: ScriptedModel, serve: Callable[[ScriptedModel], str]) -> str:
    """Serve `model` for the test; return the base URL."""
    return serve(model)


@pytest.fixture
def client(server: str) -> Iterator[anthropic.Anthropic]:
    """Return a sync SDK client without retries, so each call is one request."""
    with anthropic.Anthropic(
        base_url=server, api_key=API_KEY, max_retries=0, timeout=CLIENT_TIMEOUT
    ) as sdk:
        yield sdk


@pytest.fixture
async def async_client(server: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """Return an async SDK client without retries."""
    async with anthropic.AsyncAnthropic(
        base_url=server, api_key=API_KEY, max_retries=0, timeout=CLIENT_TIMEOUT
    ) as sdk:
        yield sdk
