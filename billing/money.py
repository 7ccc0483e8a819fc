"""Decimal rules for credits, in one place.

- Credits and PHP amounts have two decimal places. Every computed amount is quantized to 0.01 with
  ROUND_HALF_UP (the rounding people expect on a receipt: 0.005 becomes 0.01).
- A message's price is rounded once, per message: segments x price per segment, then quantized. A bulk send
  costs the sum of its messages' rounded prices, so refunding any one message gives back exactly what it was charged.
- Credits bought = PHP paid / the plan's PHP price per credit, quantized the same way (unless staff enter the credits).
- Floats never appear: inputs are parsed with `Decimal(str)` and anything that is not a finite number is refused.
"""

from decimal import ROUND_HALF_UP, Decimal, DecimalException

CENT = Decimal("0.01")
# Amounts are stored in DecimalField(max_digits=14, decimal_places=2): this or larger cannot be stored.
AMOUNT_LIMIT = Decimal("1000000000000")


def quantize_credits(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def message_price_for(*, segments: int, price_per_segment: Decimal) -> Decimal:
    return quantize_credits(Decimal(segments) * price_per_segment)


def credits_for_payment(*, amount_php: Decimal, credit_price_php: Decimal) -> Decimal:
    return quantize_credits(amount_php / credit_price_php)


def parse_decimal(raw) -> Decimal:
    """Decimal from user input (str/int/Decimal); raises ValueError with a readable message otherwise."""
    if isinstance(raw, float):
        raise ValueError("amounts must be given as text or Decimal, never as a float")
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except (DecimalException, ValueError):
        raise ValueError(f"{raw!r} is not a number")
    if not value.is_finite():
        raise ValueError(f"{raw!r} is not a finite number")
    if value.copy_abs() >= AMOUNT_LIMIT:
        raise ValueError(f"{raw!r} is too large")
    return value
