"""The suppression check's number form: a Philippine mobile number already in E.164 takes the fast path, and every
form gives what phonenumbers gives."""

import random

import phonenumbers
import pytest

from privacy.data.objections import canonical_phone


def _phonenumbers_e164(raw: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(raw, "PH"), phonenumbers.PhoneNumberFormat.E164)


def test_e164_mobile_numbers_come_back_as_phonenumbers_writes_them():
    rng = random.Random(7)
    for _ in range(2000):
        number = "+63" + rng.choice("89") + "".join(rng.choice("0123456789") for _ in range(9))
        assert canonical_phone(number) == _phonenumbers_e164(number) == number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" +639171234567 ", "+639171234567"),
        ("0917 123 4567", "+639171234567"),
        ("639171234567", "+639171234567"),
        ("+63 917 123 4567", "+639171234567"),
        ("+6309171234567", "+639171234567"),  # the national 0 after the country code is dropped (not the fast path)
        ("+14155552671", "+14155552671"),
        ("not a number", "not a number"),
        ("", ""),
    ],
)
def test_other_forms_are_parsed(raw, expected):
    assert canonical_phone(raw) == expected
