"""Estimate tokens and pick a map's default budget from the repository's size.

Tokens are estimated as one per four characters, rounded up: close to what Claude's
tokenizer gives for English and code, and free to compute. Callers that can reach the
model's own count_tokens pass it in instead.

The default budget is 30 tokens per mapped file, at least 1,500 (a small repository) and at
most 8,000 (so the map stays a small part of an agent's context): 50 files or fewer get
1,500 tokens, 100 files 3,000, and 267 files or more 8,000.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 4
MIN_BUDGET = 1_500
MAX_BUDGET = 8_000
TOKENS_PER_FILE = 30


def estimate_tokens(text: str) -> int:
    """Return the estimated token count of text: its length over four, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def default_budget(file_count: int) -> int:
    """Return the token budget for a repository of file_count mapped files."""
    return max(MIN_BUDGET, min(MAX_BUDGET, TOKENS_PER_FILE * file_count))
