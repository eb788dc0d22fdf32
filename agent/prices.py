"""Dollar prices per million tokens for well-known hosted models, to track and cap spending.

Unknown models (local servers, fine-tunes) have no price: their cost is None and a cost limit
cannot stop them, which the loop reports instead of crashing.
"""

from __future__ import annotations

# model name prefix -> (input, output) dollars per 1M tokens, from the providers' public price pages.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
}


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one call, or None when the model has no known price. The longest matching prefix wins."""
    name = model.rsplit("/", 1)[-1]
    matches = [p for p in PRICES if name.startswith(p)]
    if not matches:
        return None
    price_in, price_out = PRICES[max(matches, key=len)]
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6
