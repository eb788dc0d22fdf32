"""Dollar cost of a hosted model's call, to track and cap spending, from genai-prices' maintained
price data (bundled with the package: no network at run time; versioned model names and aliases such
as ``o3-mini`` versus ``o3`` resolve to their own entries).

Unknown models (local servers, fine-tunes) have no price: their cost is None and a cost limit
cannot stop them, which the loop reports instead of crashing.
"""

from __future__ import annotations


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one call, or None when the model has no known price."""
    from genai_prices import Usage, calc_price

    try:
        price = calc_price(Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens), model_ref=model.rsplit("/", 1)[-1])
    except LookupError:
        return None
    return float(price.total_price)
