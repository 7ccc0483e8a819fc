"""Decimal rules: two places, ROUND_HALF_UP, per-message rounding, never floats."""

from decimal import Decimal

import pytest

from billing.money import credits_for_payment, message_price_for, parse_decimal, quantize_credits


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),  # half up, not banker's rounding (which would give 0.00)
        ("0.015", "0.02"),
        ("0.125", "0.13"),
        ("2.675", "2.68"),  # the float 2.675 is 2.67499…; Decimal keeps it exact
        ("0.0049", "0.00"),
        ("-0.005", "-0.01"),  # symmetric: away from zero for negatives
        ("10", "10.00"),
    ],
)
def test_quantize_half_up_to_cents(value, expected):
    assert quantize_credits(Decimal(value)) == Decimal(expected)
    assert str(quantize_credits(Decimal(value))) == expected


@pytest.mark.parametrize(
    ("segments", "price", "expected"),
    [
        (1, "1.0000", "1.00"),
        (3, "0.3333", "1.00"),  # 0.9999
        (1, "0.3333", "0.33"),
        (7, "0.8750", "6.13"),  # 6.125
        (153, "0.0100", "1.53"),
    ],
)
def test_message_price_is_rounded_once_per_message(segments, price, expected):
    assert message_price_for(segments=segments, price_per_segment=Decimal(price)) == Decimal(expected)


def test_bulk_price_is_the_sum_of_rounded_message_prices():
    # Three 1-segment messages at 0.3333: 0.33 each, 0.99 in all (not 1.00): each refund returns exactly 0.33.
    prices = [message_price_for(segments=1, price_per_segment=Decimal("0.3333")) for _ in range(3)]
    assert sum(prices) == Decimal("0.99")


def test_credits_for_payment():
    assert credits_for_payment(amount_php=Decimal("100.00"), credit_price_php=Decimal("0.5000")) == Decimal("200.00")
    assert credits_for_payment(amount_php=Decimal("100.00"), credit_price_php=Decimal("0.3000")) == Decimal("333.33")
    assert credits_for_payment(amount_php=Decimal("0.01"), credit_price_php=Decimal("0.0300")) == Decimal("0.33")


def test_parse_decimal_accepts_text_and_refuses_floats_and_non_numbers():
    assert parse_decimal("1,000.50") == Decimal("1000.50")
    assert parse_decimal(" -12.5 ") == Decimal("-12.5")
    assert parse_decimal(Decimal("3")) == Decimal("3")
    for bad in ("abc", "", "NaN", "Infinity", "1e999999999999", "-1000000000000"):
        with pytest.raises(ValueError):
            parse_decimal(bad)
    with pytest.raises(ValueError, match="never as a float"):
        parse_decimal(0.1)
