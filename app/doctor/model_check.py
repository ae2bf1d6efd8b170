"""The model API: the key works, checked with the cheapest call there is (token counting)."""

from __future__ import annotations

import anthropic

from app.doctor.lines import Line, fail, ok
from app.settings import Settings


async def model_check(settings: Settings) -> Line:
    """Count the tokens of one word with the cheapest tier's model: free, and authenticated."""
    if not settings.anthropic_api_key:
        return fail("model", "ANTHROPIC_API_KEY is not set: put it in .env (or the Modal secret)")
    where = settings.anthropic_base_url or "https://api.anthropic.com"
    model = settings.models["fast"]
    client = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key,
        base_url=settings.anthropic_base_url,
        max_retries=0,
        timeout=20.0,
    )
    try:
        async with client:
            counted = await client.messages.count_tokens(
                model=model, messages=[{"role": "user", "content": "ping"}]
            )
    except anthropic.AuthenticationError:
        return fail("model", f"{where} rejected ANTHROPIC_API_KEY (401): create a new key")
    except anthropic.NotFoundError:
        return fail("model", f"{where} does not know the model {model}: check TOWNHALL_MODEL_*")
    except anthropic.APIConnectionError as error:
        return fail("model", f"cannot reach {where} ({error}): check ANTHROPIC_BASE_URL")
    except anthropic.APIStatusError as error:
        return fail("model", f"{where} answered {error.status_code}: {error.message[:200]}")
    return ok("model", f"{model} at {where} accepted the key ({counted.input_tokens} tokens)")
