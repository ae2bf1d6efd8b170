"""Model calls: one row per call to the model, priced, whether it succeeded or not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.store import Store
from app.store.times import to_db


@dataclass(frozen=True)
class LLMCall:
    """One model call as stored in `llm_calls`."""

    phase: str
    model: str
    task_id: int | None
    attempt: int | None
    role: str | None
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: float
    latency_ms: float
    error: str | None
    created_at: datetime


async def record_llm_call(store: Store, call: LLMCall) -> None:
    """Append one model call."""
    await store.execute(
        "INSERT INTO llm_calls (task_id, attempt, role, phase, model, input_tokens,"
        " output_tokens, cache_creation_tokens, cache_read_tokens, cost_usd, latency_ms,"
        " error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            call.task_id,
            call.attempt,
            call.role,
            call.phase,
            call.model,
            call.input_tokens,
            call.output_tokens,
            call.cache_creation_tokens,
            call.cache_read_tokens,
            call.cost_usd,
            call.latency_ms,
            call.error,
            to_db(call.created_at),
        ),
    )
