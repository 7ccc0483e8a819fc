"""Philippine mobile numbers: parse what people type into E.164, and guess the network from the prefix.

Accepted input (spaces and dashes anywhere are ignored): 09XXXXXXXXX, 9XXXXXXXXX, 639XXXXXXXXX, +639XXXXXXXXX.
Anything else (landlines, other countries, letters, brackets, extensions, wrong length) raises
`InvalidPhoneNumber`, whose message names the input. We check the *shape* of a mobile number and let
`phonenumbers` build the E.164 form; we do not require libphonenumber to know the block, so a newly allocated
prefix is still accepted (its network is then `Network.UNKNOWN`).
"""

from __future__ import annotations

import re

import phonenumbers
from django.db import models

from messaging.ph_prefixes import LONGEST_PREFIX, OPERATOR_BY_NETWORK, PREFIX_TABLE, SHORTEST_PREFIX
from portal.errors import ApplicationError

# ASCII digits only ([0-9], not \d: no full-width or Arabic-Indic digits) with an optional leading "+".
_ALLOWED = re.compile(r"\+?[0-9]+")
_SEPARATORS = re.compile(r"[ \-\u00a0]")
_ACCEPTED_SHAPES = (
    re.compile(r"09[0-9]{9}"),
    re.compile(r"9[0-9]{9}"),
    re.compile(r"639[0-9]{9}"),
    re.compile(r"\+639[0-9]{9}"),
)
_E164_MOBILE = re.compile(r"\+639[0-9]{9}")
_MAX_ECHO = 40


class Network(models.TextChoices):
    """Mobile brand of a number, from the project's prefix table (original allocation, see ph_prefixes)."""

    # PLDT-Smart's postpaid/prepaid flagship brand.
    SMART = "smart", "Smart"
    # Talk 'N Text, Smart's budget prepaid brand (same network).
    TNT = "tnt", "TNT"
    # Globe Telecom's flagship brand.
    GLOBE = "globe", "Globe"
    # TM (Touch Mobile), Globe's budget prepaid brand (same network).
    TM = "tm", "TM"
    # DITO Telecommunity, the third operator.
    DITO = "dito", "DITO"
    # Sun Cellular, legacy blocks now carried by Smart.
    SUN = "sun", "Sun"
    # Prefix not in our table (new allocation or not a mobile block we know).
    UNKNOWN = "unknown", "Unknown"


class InvalidPhoneNumber(ApplicationError):
    code = "invalid_number"
    status = 400


def _echo(raw: object) -> str:
    text = str(raw)
    return repr(text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "…")


def normalize_ph_number(raw: str) -> str:
    """E.164 form ("+639XXXXXXXXX") of a Philippine mobile number typed in any accepted shape."""
    if not isinstance(raw, str):
        message = f"{_echo(raw)} is not a phone number"
        raise InvalidPhoneNumber(message, details={"input": str(raw)[:_MAX_ECHO]})
    compact = _SEPARATORS.sub("", raw.strip())
    if not compact:
        raise InvalidPhoneNumber("Phone number is empty", details={"input": raw[:_MAX_ECHO]})
    if not _ALLOWED.fullmatch(compact) or not any(shape.fullmatch(compact) for shape in _ACCEPTED_SHAPES):
        raise InvalidPhoneNumber(
            f"{_echo(raw)} is not a Philippine mobile number; use 09XXXXXXXXX or +639XXXXXXXXX",
            details={"input": raw[:_MAX_ECHO]},
        )
    # After the shape check only the trunk/country prefix differs; phonenumbers turns each into E.164.
    if compact.startswith("63"):
        compact = "+" + compact
    elif compact.startswith("9"):
        compact = "0" + compact
    try:
        parsed = phonenumbers.parse(compact, "PH")
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(
            f"{_echo(raw)} is not a Philippine mobile number: {error}", details={"input": raw[:_MAX_ECHO]}
        )
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if parsed.country_code != 63 or not _E164_MOBILE.fullmatch(e164):
        raise InvalidPhoneNumber(f"{_echo(raw)} is not a Philippine mobile number", details={"input": raw[:_MAX_ECHO]})
    return e164


def is_valid_ph_number(raw: str) -> bool:
    try:
        normalize_ph_number(raw)
    except InvalidPhoneNumber:
        return False
    return True


def detect_network(e164: str) -> Network:
    """Network brand of a number by its original prefix allocation; anything unrecognised is UNKNOWN."""
    if not isinstance(e164, str) or not _E164_MOBILE.fullmatch(e164):
        return Network.UNKNOWN
    national = e164[3:]  # "9171234567"
    for length in range(LONGEST_PREFIX, SHORTEST_PREFIX - 1, -1):
        network = PREFIX_TABLE.get(national[:length])
        if network is not None:
            return Network(network)
    return Network.UNKNOWN


def operator_of(network: Network | str) -> str:
    """The operator carrying a brand: "smart" (Smart/TNT/Sun), "globe" (Globe/TM), "dito" or "unknown"."""
    return OPERATOR_BY_NETWORK.get(str(network), "unknown")


def to_national(e164: str) -> str:
    """Local form for display and for providers that want it: "+639171234567" -> "09171234567"."""
    if not _E164_MOBILE.fullmatch(e164):
        raise InvalidPhoneNumber(f"{_echo(e164)} is not a normalized Philippine mobile number")
    return "0" + e164[3:]


def to_digits(e164: str) -> str:
    """Country-code form without "+": "+639171234567" -> "639171234567" (IPROG and Semaphore want this)."""
    if not _E164_MOBILE.fullmatch(e164):
        raise InvalidPhoneNumber(f"{_echo(e164)} is not a normalized Philippine mobile number")
    return e164[1:]
