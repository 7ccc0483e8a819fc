"""Objections and suppressions: the questions processing code asks before it acts.

- "May I send to this number?" -> `suppressed_numbers` / `recipient_is_suppressed` (the messaging engine asks before
  it charges; a suppressed recipient's message is stored as rejected with error_code "recipient_opted_out").
- "May I include this person in this optional processing?" -> `user_allows`.

Numbers are compared by keyed hash of their E.164 form, so the suppression table never holds a number in clear.
"""

from collections.abc import Iterable

import phonenumbers

from portal.crypto import keyed_hash
from privacy.data_models import PHONE_HASH_PURPOSE, ProcessingKind, ProcessingObjection, Suppression


def canonical_phone(raw: str) -> str:
    """E.164 for anything phonenumbers can read as a Philippine (or international) number; else the trimmed input.

    The suppression check must not depend on how a caller wrote the number ("0917 123 4567" and "+639171234567"
    are the same person), and must not fail on junk: junk simply never matches.
    """
    value = (raw or "").strip()
    try:
        parsed = phonenumbers.parse(value, "PH")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(raw: str) -> str:
    return keyed_hash(canonical_phone(raw), purpose=PHONE_HASH_PURPOSE)


def suppressed_numbers(*, phone_numbers: Iterable[str]) -> set[str]:
    """The subset of `phone_numbers` (returned as given) that asked not to receive messages. One query."""
    by_hash: dict[str, list[str]] = {}
    for number in phone_numbers:
        by_hash.setdefault(phone_hash(number), []).append(number)
    if not by_hash:
        return set()
    found = Suppression.objects.filter(phone_hash__in=list(by_hash), removed_at__isnull=True).values_list(
        "phone_hash", flat=True
    )
    return {number for hashed in found for number in by_hash[hashed]}


def recipient_is_suppressed(*, phone_number: str) -> bool:
    return bool(suppressed_numbers(phone_numbers=[phone_number]))


def user_allows(*, user, processing: str) -> bool:
    """False when the user has an active objection to this optional processing.

    Unknown processing kinds are a programming error (a typo would silently allow everything), so they raise.
    """
    if processing not in ProcessingKind.values:
        raise ValueError(f"Unknown processing {processing!r}; expected one of {', '.join(ProcessingKind.values)}")
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return True
    return not ProcessingObjection.objects.filter(
        user_id=user.pk, processing=processing, withdrawn_at__isnull=True
    ).exists()
