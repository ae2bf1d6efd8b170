"""One wrapper over the anthropic SDK: model tiers, prompt caching, retries, a record per call.

The CEO, the workers and the reviewer all call the model through `LLM.create`, so every call
is priced and stored (task, attempt, role, phase, model, tokens, dollars, latency). An agent
talks to the model through `AnthropicModel`, which turns replies into plain turns and adds up
their usage.

Prompt caching follows Anthropic's rules: the cached prefix runs tools, then system, then
messages; a request may mark at most four blocks with cache_control; a cache write costs 1.25x
the input price and a read 0.1x (five-minute entries). Every call caches tools and system; an
agent's calls also mark the conversation's newest block, so each turn reads the previous turns
from the cache and pays full price only for what it adds (see `place_breakpoints`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
from anthropic.types import Message

from app.clock import Clock
from app.settings import Price, Settings, Tier
from app.store import Store
from app.store.llm_calls import LLMCall, record_llm_call

# The SDK retries 429, 529 and connection errors with exponential backoff and honours
# retry-after; a few tries ride out a short overload without hiding a real outage.
MAX_RETRIES = 4
EPHEMERAL = {"type": "ephemeral"}
# The Messages API accepts at most four blocks with cache_control in one request.
MAX_BREAKPOINTS = 4

# Where requests put their cache breakpoints. "system_only" caches tools and the system prompt
# (one-off calls: a planner or reviewer question); "conversation" also caches the conversation
# up to its newest block, for agent loops that resend a growing conversation every turn.
CacheStrategy = Literal["system_only", "conversation"]


@dataclass(frozen=True)
class CallContext:
    """Who is calling the model, for the cost record."""

    phase: str
    task_id: int | None = None
    attempt: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class CallRecord:
    """One model call as stored in `llm_calls`."""

    context: CallContext
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: float
    latency_ms: float
    error: str | None = None


Recorder = Callable[[CallRecord], Awaitable[None]]


@dataclass(frozen=True)
class ModelUsage:
    """What a series of model calls added up to."""

    calls: int = 0
    input_tokens: int = 0  # cache writes and reads included
    output_tokens: int = 0
    dollars: float = 0.0

    def __add__(self, other: ModelUsage) -> ModelUsage:
        return ModelUsage(
            self.calls + other.calls,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.dollars + other.dollars,
        )


@dataclass(frozen=True)
class ToolCall:
    """One tool the model asked to run."""

    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class ModelTurn:
    """One reply: its content blocks (for the conversation), its tool calls, and its text."""

    content: tuple[dict[str, Any], ...]
    tool_calls: tuple[ToolCall, ...]
    text: str


class ModelError(Exception):
    """The model did not answer (the API failed after its retries)."""


def token_counts(message: Message) -> dict[str, int]:
    """A reply's tokens by kind, as `call_cost` prices them."""
    usage = message.usage
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "cache_write": usage.cache_creation_input_tokens or 0,
        "cache_read": usage.cache_read_input_tokens or 0,
    }


def call_cost(price: Price | None, record_tokens: Mapping[str, int]) -> float:
    """Dollars for one call's token counts under `price` (0 when the model is unpriced)."""
    if price is None:
        return 0.0
    per_token_in = price.input_per_mtok / 1_000_000
    return (
        record_tokens["input"] * per_token_in
        + record_tokens["output"] * price.output_per_mtok / 1_000_000
        + record_tokens["cache_write"] * per_token_in * price.cache_write_factor
        + record_tokens["cache_read"] * per_token_in * price.cache_read_factor
    )


def with_cache_breakpoints(
    system: str, tools: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mark the stable prefix (tools, then system) so repeated calls read it from the cache."""
    system_blocks: list[dict[str, Any]] = [
        {"type": "text", "text": system, "cache_control": EPHEMERAL}
    ]
    cached_tools = [dict(tool) for tool in tools]
    if cached_tools:
        cached_tools[-1]["cache_control"] = EPHEMERAL
    return system_blocks, cached_tools


def conversation_breakpoints(
    messages: Sequence[Mapping[str, Any]], slots: int
) -> list[dict[str, Any]]:
    """Copy `messages`, marking the last block of the last two user messages (within `slots`).

    The API caches the prefix up to each marked block and, at the next request, finds an
    earlier entry by looking back at most 20 blocks from each breakpoint. Marking the newest
    block writes this turn's prefix; marking the block that was newest in the previous request
    (the previous user message's last block) reads that request's entry at its exact position,
    however many blocks the turn in between added. String contents become one text block (the
    same tokens to the API) so a message hashes the same whether or not it is marked.
    """
    copied = [_with_block_content(message) for message in messages]
    users = [index for index, message in enumerate(copied) if message["role"] == "user"]
    for index in users[-min(slots, 2) :] if slots > 0 else []:
        blocks = copied[index]["content"]
        if isinstance(blocks, list) and blocks and "cache_control" not in blocks[-1]:
            blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
    return copied


def count_breakpoints(messages: Sequence[Mapping[str, Any]]) -> int:
    """Blocks in `messages` that already carry cache_control (a caller's own marks)."""
    return sum(
        1
        for message in messages
        if not isinstance(message["content"], str)
        for block in message["content"]
        if block.get("cache_control")
    )


def place_breakpoints(
    system: str,
    tools: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
    strategy: CacheStrategy,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Return system blocks, tools and messages carrying at most four cache breakpoints.

    The cached prefix runs tools, then system, then messages. "system_only" marks the last
    tool and the system prompt; "conversation" also marks the conversation's newest block (and
    the previous request's newest block), so each agent turn reads every earlier turn from the
    cache. A caller's own marks in `messages` count against the API's limit of four; a
    breakpoint on a prefix under the model's minimum cacheable length (1,024 to 4,096 tokens)
    is not an error, the API just does not cache it.
    """
    system_blocks, cached_tools = with_cache_breakpoints(system, tools)
    used = len(system_blocks) + (1 if cached_tools else 0) + count_breakpoints(messages)
    if used > MAX_BREAKPOINTS:
        raise ValueError(
            f"{used} cache breakpoints requested (tools, system and the messages' own "
            f"cache_control blocks); the API accepts at most {MAX_BREAKPOINTS}"
        )
    slots = MAX_BREAKPOINTS - used if strategy == "conversation" else 0
    return system_blocks, cached_tools, conversation_breakpoints(messages, slots)


def _with_block_content(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message["content"]
    if isinstance(content, str):
        # The API rejects an empty text block; an empty string stays as it is.
        return {**message, "content": [{"type": "text", "text": content}] if content else content}
    return {**message, "content": list(content)}


class LLM:
    """Call the model at a tier; price and record every call, failed ones included."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        models: Mapping[Tier, str],
        prices: Mapping[str, Price],
        recorder: Recorder,
    ) -> None:
        self._client = client
        self._models = models
        self._prices = prices
        self._recorder = recorder

    def model_for(self, tier: Tier) -> str:
        """Return the model id configured for a tier."""
        return self._models[tier]

    def cost_of(self, message: Message) -> float:
        """Dollars one reply cost, from its usage and the price table."""
        return call_cost(self._prices.get(message.model), token_counts(message))

    async def create(
        self,
        *,
        tier: Tier,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        context: CallContext,
        max_tokens: int = 4096,
        tools: Sequence[Mapping[str, Any]] = (),
        tool_choice: Mapping[str, Any] | None = None,
        cache_strategy: CacheStrategy = "system_only",
    ) -> Message:
        """Send one Messages request and return the reply."""
        model = self._models[tier]
        system_blocks, cached_tools, marked = place_breakpoints(
            system, tools, messages, cache_strategy
        )
        request: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "system": system_blocks,
            "messages": marked,
        }
        if cached_tools:
            request["tools"] = cached_tools
        if tool_choice is not None:
            request["tool_choice"] = dict(tool_choice)
        started = time.perf_counter()
        try:
            message: Message = await self._client.messages.create(**request)
        except anthropic.APIError as error:
            await self._recorder(
                CallRecord(context, model, 0, 0, 0, 0, 0.0, _ms_since(started), _describe(error))
            )
            raise
        tokens = token_counts(message)
        await self._recorder(
            CallRecord(
                context=context,
                model=model,
                input_tokens=tokens["input"],
                output_tokens=tokens["output"],
                cache_creation_tokens=tokens["cache_write"],
                cache_read_tokens=tokens["cache_read"],
                cost_usd=call_cost(self._prices.get(model), tokens),
                latency_ms=_ms_since(started),
            )
        )
        return message


class AnthropicModel:
    """The model an agent talks to: one tier, one call context, usage added up here.

    An agent resends its whole conversation every turn, so by default each request caches it
    up to the newest block ("conversation"); "system_only" is the older, costlier strategy.
    """

    def __init__(
        self,
        llm: LLM,
        tier: Tier,
        context: CallContext,
        max_tokens: int = 8192,
        cache_strategy: CacheStrategy = "conversation",
    ) -> None:
        self.llm = llm
        self.tier = tier
        self.context = context
        self.max_tokens = max_tokens
        self.cache_strategy: CacheStrategy = cache_strategy
        self.usage = ModelUsage()

    async def query(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> ModelTurn:
        """Send the conversation; return the reply as a turn and add its usage."""
        try:
            reply = await self.llm.create(
                tier=self.tier,
                system=system,
                messages=messages,
                tools=tools,
                max_tokens=self.max_tokens,
                context=self.context,
                cache_strategy=self.cache_strategy,
            )
        except anthropic.APIError as error:
            raise ModelError(str(error)) from error
        tokens = token_counts(reply)
        self.usage += ModelUsage(
            calls=1,
            input_tokens=tokens["input"] + tokens["cache_write"] + tokens["cache_read"],
            output_tokens=tokens["output"],
            dollars=self.llm.cost_of(reply),
        )
        return ModelTurn(
            content=tuple(block.model_dump() for block in reply.content),
            tool_calls=tuple(
                ToolCall(block.id, block.name, dict(block.input))
                for block in reply.content
                if block.type == "tool_use"
            ),
            text="\n".join(block.text for block in reply.content if block.type == "text").strip(),
        )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(error: anthropic.APIError) -> str:
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__}{f' {status}' if status else ''}: {error.message[:500]}"


def store_recorder(store: Store, clock: Clock) -> Recorder:
    """Return a recorder that stores each call in `llm_calls`."""

    async def record(call: CallRecord) -> None:
        await record_llm_call(
            store,
            LLMCall(
                phase=call.context.phase,
                model=call.model,
                task_id=call.context.task_id,
                attempt=call.context.attempt,
                role=call.context.role,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cache_creation_tokens=call.cache_creation_tokens,
                cache_read_tokens=call.cache_read_tokens,
                cost_usd=call.cost_usd,
                latency_ms=call.latency_ms,
                error=call.error,
                created_at=clock.now(),
            ),
        )

    return record


def build_llm(settings: Settings, store: Store, clock: Clock) -> LLM:
    """Build the wrapper from settings (the API key and base URL go to the SDK only)."""
    client = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key,
        base_url=settings.anthropic_base_url,
        max_retries=MAX_RETRIES,
        timeout=120.0,
    )
    return LLM(client, settings.models, settings.prices, store_recorder(store, clock))
