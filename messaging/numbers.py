"""Philippine mobile numbers: parse what people type into E.164, and guess the network from the prefix.

Accepted input (spaces and dashes anywhere are ignored): 09XXXXXXXXX, 9XXXXXXXXX, 639XXXXXXXXX, +639XXXXXXXXX,
and the same shapes with 8 for the 08XX mobile blocks (0813, 0817, DITO's 0895-0898, ...). Anything else
(landlines, other countries, letters, brackets, extensions, wrong length) raises `InvalidPhoneNumber`, whose message
names the input. We check the *shape* of a mobile number and build the E.164 form from its ten national digits; we
do not require libphonenumber to know the block, so a newly allocated 09XX prefix is still accepted (its network is then
`Network.UNKNOWN`). In the 08 range, which provincial landlines share, only a prefix that a network owns in
`messaging.ph_prefixes` is a mobile number; another one is refused with a message that says so.
"""

from __future__ import annotations

import re

from django.db import models

from messaging.ph_prefixes import (
    LONGEST_PREFIX,
    MOBILE_RANGES,
    OPEN_RANGES,
    OPERATOR_BY_NETWORK,
    PREFIX_TABLE,
    SHORTEST_PREFIX,
)
from portal.errors import ApplicationError

# ASCII digits only ([0-9], not \d: no full-width or Arabic-Indic digits) with an optional leading "+".
_ALLOWED = re.compile(r"\+?[0-9]+")
_SEPARATORS = re.compile(r"[ \-\u00a0]")
_RANGES = "".join(sorted(MOBILE_RANGES))  # "89": the leading digits of Philippine mobile numbers
_ACCEPTED_SHAPES = (
    re.compile(rf"0[{_RANGES}][0-9]{{9}}"),
    re.compile(rf"[{_RANGES}][0-9]{{9}}"),
    re.compile(rf"63[{_RANGES}][0-9]{{9}}"),
    re.compile(rf"\+63[{_RANGES}][0-9]{{9}}"),
)
_E164_MOBILE = re.compile(rf"\+63[{_RANGES}][0-9]{{9}}")
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
    # Every accepted shape ends in the ten national digits (a mobile range first), after a trunk "0", a country code
    # "63" / "+63", or nothing: the E.164 form is those digits after "+63" (what phonenumbers would build, at a
    # fraction of its cost on every recipient of every send).
    e164 = "+63" + compact[-10:]
    if e164[3] not in OPEN_RANGES and _owned_prefix(e164[3:]) is None:
        raise InvalidPhoneNumber(
            f"{_echo(raw)} is not a Philippine mobile number: no mobile network owns the prefix 0{e164[3:6]}",
            details={"input": raw[:_MAX_ECHO], "prefix": f"0{e164[3:6]}"},
        )
    return e164


def _owned_prefix(national: str) -> str | None:
    """The network (brand value) owning the longest table prefix of a national number ("9171234567"), or None."""
    for length in range(LONGEST_PREFIX, SHORTEST_PREFIX - 1, -1):
        network = PREFIX_TABLE.get(national[:length])
        if network is not None:
            return network
    return None


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
    network = _owned_prefix(e164[3:])  # "9171234567"
    return Network(network) if network is not None else Network.UNKNOWN


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
