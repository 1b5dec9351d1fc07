"""Token estimates and cost in US dollars (Message Batches API = 50% of list price).

The price table is small and dated on purpose: prices change, so it lists only the
models this project uses or is likely to be pointed at; an unknown model gives no
cost (``None``) rather than a wrong one. Source: Anthropic's public pricing page
(list prices, USD per million tokens, as of 2025-10). Cache writes (5 min) cost
1.25x the input price and cache reads 0.1x, as the pricing page states.

The estimates are calibrated on the 620 recorded real batch results of
claude-haiku-4-5 on the loghub samples (reference data): input tokens ≈ prompt
characters / 2.5 (log lines are full of numbers, ids and punctuation, so they
tokenize much denser than prose) and ≈ 30 output tokens per labeled line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: model id prefix -> (input, output) USD per million tokens, list price.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-opus-4-5": (5.00, 25.00),
    "claude-opus-4-1": (15.00, 75.00),
    "claude-opus-4": (15.00, 75.00),
}
BATCH_DISCOUNT = 0.5
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.10

CHARS_PER_TOKEN = 2.5
OUTPUT_TOKENS_PER_LINE = 30
REQUEST_OVERHEAD_TOKENS = 10


def prices(model: str) -> tuple[float, float] | None:
    """List (input, output) price per MTok for ``model`` or a dated id such as
    ``claude-haiku-4-5-20251001`` (longest matching prefix wins)."""
    for prefix in sorted(PRICES_PER_MTOK, key=len, reverse=True):
        if model == prefix or model.startswith(prefix + "-"):
            return PRICES_PER_MTOK[prefix]
    return None


def estimate_input_tokens(request: dict) -> int:
    params = request["params"]
    chars = len(params.get("system") or "")
    chars += sum(len(m["content"]) for m in params["messages"])
    return math.ceil(chars / CHARS_PER_TOKEN) + REQUEST_OVERHEAD_TOKENS


def estimate_output_tokens(n_lines: int) -> int:
    return n_lines * OUTPUT_TOKENS_PER_LINE


@dataclass
class Usage:
    """Token counts summed over results, as the API reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def add(self, usage: dict | None) -> None:
        if not usage:
            return
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ):
            setattr(self, name, getattr(self, name) + int(usage.get(name) or 0))

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def cost_usd(model: str, usage: Usage, batch: bool = True) -> float | None:
    """Dollar cost of ``usage`` for ``model`` (Batch pricing by default); None if unknown."""
    p = prices(model)
    if p is None:
        return None
    inp, outp = p
    total = (
        usage.input_tokens * inp
        + usage.cache_creation_input_tokens * inp * CACHE_WRITE_FACTOR
        + usage.cache_read_input_tokens * inp * CACHE_READ_FACTOR
        + usage.output_tokens * outp
    ) / 1_000_000
    return round(total * (BATCH_DISCOUNT if batch else 1.0), 6)
