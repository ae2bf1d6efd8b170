"""Prompt-cache usage figures and count_tokens, both from the documented chars/4 estimate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

import anthropic
import pytest
from anthropic.types import TextBlockParam

from app.clock import ManualClock
from app.standins.scripted_model import Script, ScriptedModel, ServerConfig, Text, Turn
from tests.scripted_model.conftest import API_KEY, MODEL

STABLE_PREFIX = "You are the Townhall reviewer. " * 40  # 1240 characters: 310 tokens


def cached_system(ttl: Literal["5m", "1h"] = "5m") -> list[TextBlockParam]:
    return [
        {"type": "text", "text": STABLE_PREFIX, "cache_control": {"type": "ephemeral", "ttl": ttl}}
    ]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def model(clock: ManualClock) -> ScriptedModel:
    return ScriptedModel([Script("s", [Turn([Text("ok")], repeat=True)])], clock=clock)


def ask(client: anthropic.Anthropic, question: str, **extra: Any) -> anthropic.types.Usage:
    params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 16,
        "system": cached_system(),
        "messages": [{"role": "user", "content": question}],
        **extra,
    }
    reply: anthropic.types.Message = client.messages.create(**params)
    return reply.usage


def test_prefix_is_written_then_read(client: anthropic.Anthropic) -> None:
    first = ask(client, "Review PR 1")  # 11 characters: 3 tokens
    second = ask(client, "Review PR 22")  # 12 characters: 3 tokens

    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (310, 0)
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_5m_input_tokens == 310
    assert first.input_tokens == 3
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 310)
    assert second.input_tokens == 3


def test_cache_is_per_model_and_per_prefix(client: anthropic.Anthropic) -> None:
    ask(client, "warm")
    other_model = ask(client, "warm", model="claude-haiku-4-5")
    other_prefix = ask(
        client,
        "warm",
        system=[{"type": "text", "text": "Different.", "cache_control": {"type": "ephemeral"}}],
    )

    assert other_model.cache_read_input_tokens == 0
    assert other_model.cache_creation_input_tokens == 310
    assert other_prefix.cache_read_input_tokens == 0


def test_entries_expire_after_their_ttl(client: anthropic.Anthropic, clock: ManualClock) -> None:
    ask(client, "warm")
    clock.advance(timedelta(minutes=4))
    read = ask(client, "again")  # a read refreshes the entry for another five minutes
    clock.advance(timedelta(minutes=4))
    read_again = ask(client, "again")
    clock.advance(timedelta(minutes=6))
    expired = ask(client, "later")

    assert read.cache_read_input_tokens == read_again.cache_read_input_tokens == 310
    assert (expired.cache_read_input_tokens, expired.cache_creation_input_tokens) == (0, 310)


def test_one_hour_ttl_is_reported_separately(client: anthropic.Anthropic) -> None:
    usage = ask(client, "warm", system=cached_system(ttl="1h"))

    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_1h_input_tokens == 310
    assert usage.cache_creation.ephemeral_5m_input_tokens == 0


def test_conversation_breakpoint_reads_the_system_prefix(client: anthropic.Anthropic) -> None:
    ask(client, "warm")
    marked: dict[str, Any] = {
        "role": "user",
        "content": [{"type": "text", "text": "x" * 80, "cache_control": {"type": "ephemeral"}}],
    }

    usage = ask(client, "", messages=[marked])

    # The system prefix is read; the 20-token message up to the new breakpoint is written.
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (310, 20)
    assert usage.input_tokens == 0


def test_count_tokens_uses_the_estimate(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(
        model=MODEL,
        system="a" * 40,
        messages=[
            {"role": "user", "content": "b" * 9},
            {"role": "assistant", "content": [{"type": "text", "text": "c" * 8}]},
            {"role": "user", "content": "d"},
        ],
    )

    assert counted.input_tokens == 10 + 3 + 2 + 1


def test_count_tokens_validates_like_create(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="at least one message"):
        client.messages.count_tokens(model=MODEL, messages=[])


def test_min_cacheable_tokens_is_respected(
    clock: ManualClock, serve: Callable[[ScriptedModel], str]
) -> None:
    strict = ScriptedModel(
        [Script("s", [Turn([Text("ok")], repeat=True)])],
        config=ServerConfig(min_cacheable_tokens=1024),
        clock=clock,
    )
    with anthropic.Anthropic(base_url=serve(strict), api_key=API_KEY, max_retries=0) as sdk:
        usage = ask(sdk, "short prompt")

    assert usage.cache_creation_input_tokens == 0
    assert usage.input_tokens == 310 + 3


def test_count_tokens_agrees_with_usage(client: anthropic.Anthropic) -> None:
    usage = ask(client, "How many?")
    counted = client.messages.count_tokens(
        model=MODEL, system=cached_system(), messages=[{"role": "user", "content": "How many?"}]
    )

    total = usage.input_tokens + (usage.cache_creation_input_tokens or 0)
    assert counted.input_tokens == total + (usage.cache_read_input_tokens or 0) == 313


def test_zero_max_tokens_warms_the_cache(client: anthropic.Anthropic) -> None:
    warm = client.messages.create(
        model=MODEL,
        max_tokens=0,
        system=cached_system(),
        messages=[{"role": "user", "content": "warm up"}],
    )
    usage = ask(client, "real question")

    assert (warm.content, warm.stop_reason, warm.usage.output_tokens) == ([], "max_tokens", 0)
    assert warm.usage.cache_creation_input_tokens == 310
    assert usage.cache_read_input_tokens == 310
