"""Objections and suppressions: the questions processing code asks before it acts.

- "May I send to this number?" -> `suppressed_numbers` / `recipient_is_suppressed` (the messaging engine
  asks before it charges; a suppressed recipient's message is stored as rejected, "recipient_opted_out").
- "May I include this person in this optional processing?" -> `user_allows` / `user_objects_to`.

Numbers are compared by keyed hash of their E.164 form, so the suppression table never holds a number in clear.
"""

import re
from collections.abc import Iterable
from datetime import timedelta

import phonenumbers
from django.db import transaction
from django.utils import timezone

from accounts.services import audit_log_record
from portal.crypto import keyed_hash
from portal.errors import ApplicationError
from portal.hooks import SuppressionLookup, hashes_in, suppression_lookups_run
from privacy.data.models import (
    PHONE_HASH_PURPOSE,
    ProcessingKind,
    ProcessingObjection,
    Suppression,
    SuppressionException,
    SuppressionSource,
)

# A Philippine mobile number already in E.164 ("+639171234567", "+638171234567"): phonenumbers gives it back
# unchanged, so it is not parsed. Every number a message is stored with has this form, and the dispatcher asks about
# a thousand of them per batch (parsing was most of the suppression check's time).
_E164_PH_MOBILE = re.compile(r"\+63[89][0-9]{9}")


def canonical_phone(raw: str) -> str:
    """E.164 for anything phonenumbers can read as a Philippine (or international) number; else the trimmed input.

    The suppression check must not depend on how a caller wrote the number ("0917 123 4567", "+639171234567"
    are the same person), and must not fail on junk: junk simply never matches.
    """
    value = (raw or "").strip()
    if _E164_PH_MOBILE.fullmatch(value):
        return value
    try:
        parsed = phonenumbers.parse(value, "PH")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(raw: str) -> str:
    return keyed_hash(canonical_phone(raw), purpose=PHONE_HASH_PURPOSE)


def suppressed_lookup(*, phone_numbers: Iterable[str]) -> SuppressionLookup | None:
    """The query that finds which of `phone_numbers` asked not to receive messages (None when none is given), to
    run alone (`suppressed_numbers`) or with the organization's own opt-outs in one statement before a send
    (`portal.hooks.send_suppressions`)."""
    by_hash: dict[str, list[str]] = {}
    for number in phone_numbers:
        by_hash.setdefault(phone_hash(number), []).append(number)
    if not by_hash:
        return None
    condition, params = hashes_in("phone_hash", by_hash)
    return SuppressionLookup(
        sql=f"SELECT phone_hash FROM {Suppression._meta.db_table} WHERE {condition} AND removed_at IS NULL",  # noqa: S608 - names from the model
        params=params,
        numbers_by_hash=by_hash,
    )


def suppressed_numbers(*, phone_numbers: Iterable[str]) -> set[str]:
    """The subset of `phone_numbers` (returned as given) that asked not to receive messages. One query."""
    return suppression_lookups_run([suppressed_lookup(phone_numbers=phone_numbers)])


def excepted_numbers(*, organization_id: int, phone_numbers: Iterable[str]) -> set[str]:
    """The numbers (as given) to which `organization_id` may send although they opted out: the holder asked for a
    proof code themself, and the exception has not expired. One query."""
    by_hash: dict[str, list[str]] = {}
    for number in phone_numbers:
        by_hash.setdefault(phone_hash(number), []).append(number)
    if not by_hash:
        return set()
    found = SuppressionException.objects.filter(
        phone_hash__in=list(by_hash), organization_id=organization_id, expires_at__gt=timezone.now()
    ).values_list("phone_hash", flat=True)
    return {number for hashed in found for number in by_hash[hashed]}


def suppression_exception_grant(*, phone_number: str, organization_id: int, user, reason: str, lifetime) -> bool:
    """Let one proof code through to an opted-out number whose holder asked for it; at most one a day per number.
    False when one was already granted in the last 24 hours."""
    hashed = phone_hash(phone_number)
    now = timezone.now()
    if SuppressionException.objects.filter(phone_hash=hashed, created_at__gte=now - timedelta(days=1)).exists():
        return False
    exception = SuppressionException.objects.create(
        phone_hash=hashed,
        organization_id=organization_id,
        requested_by=_real_user(user),
        reason=reason,
        expires_at=now + lifetime,
    )
    audit_log_record(
        event_type="privacy.suppression_exception", actor=_real_user(user), target=exception, extra={"reason": reason}
    )
    return True


def recipient_is_suppressed(*, phone_number: str) -> bool:
    return bool(suppressed_numbers(phone_numbers=[phone_number]))


def user_objects_to(*, user_id: int | None, processing: str) -> bool:
    """True when the person has an active objection to this optional processing.

    Unknown processing kinds are a programming error (a typo would silently allow everything), so they raise.
    """
    if processing not in ProcessingKind.values:
        raise ValueError(f"Unknown processing {processing!r}; expected one of {', '.join(ProcessingKind.values)}")
    if user_id is None:
        return False
    return ProcessingObjection.objects.filter(
        user_id=user_id, processing=processing, withdrawn_at__isnull=True
    ).exists()


def user_allows(*, user, processing: str) -> bool:
    """False when the user has an active objection to this optional processing (anonymous visitors: True)."""
    signed_in = user is not None and getattr(user, "is_authenticated", False) and user.pk is not None
    return not user_objects_to(user_id=user.pk if signed_in else None, processing=processing)


def processing_choices_for(*, user) -> list[dict]:
    """Each optional processing with whether the user currently allows it (one query), for the privacy centre."""
    objected = set(
        ProcessingObjection.objects.filter(user_id=user.pk, withdrawn_at__isnull=True).values_list(
            "processing", flat=True
        )
    )
    return [
        {"processing": kind.value, "label": kind.label, "allowed": kind.value not in objected}
        for kind in ProcessingKind
    ]


# --- writes ---


@transaction.atomic
def suppression_add(*, phone_number: str, source: str, actor=None) -> Suppression:
    """Record "do not send to me" for a number (a STOP reply, a request, or staff). Idempotent per number."""
    if source not in SuppressionSource.values:
        raise ApplicationError(
            f"Unknown suppression source {source!r}; use one of {', '.join(SuppressionSource.values)}.",
            code="invalid_source",
        )
    number = canonical_phone(phone_number)
    if not number:
        raise ApplicationError("A phone number is required.", code="invalid_number")
    hashed = keyed_hash(number, purpose=PHONE_HASH_PURPOSE)
    existing = Suppression.objects.select_for_update().filter(phone_hash=hashed, removed_at__isnull=True).first()
    if existing is not None:
        return existing
    suppression = Suppression.objects.create(phone_hash=hashed, source=source, created_by=_real_user(actor))
    audit_log_record(
        event_type="privacy.suppression_added",
        actor=_real_user(actor),
        target=suppression,
        extra={"source": source},
    )
    return suppression


@transaction.atomic
def suppression_remove(*, phone_number: str, actor=None, reason: str = "") -> bool:
    """Lift a suppression (the person asked to receive messages again, e.g. replied START). True if one was
    active."""
    hashed = phone_hash(phone_number)
    suppression = Suppression.objects.select_for_update().filter(phone_hash=hashed, removed_at__isnull=True).first()
    if suppression is None:
        return False
    suppression.removed_at = timezone.now()
    suppression.removed_by = _real_user(actor)
    suppression.save(update_fields=["removed_at", "removed_by"])
    audit_log_record(
        event_type="privacy.suppression_removed",
        actor=_real_user(actor),
        target=suppression,
        extra={"reason": reason},
    )
    return True


@transaction.atomic
def processing_objection_add(*, user, processing: str, actor=None) -> ProcessingObjection:
    if processing not in ProcessingKind.values:
        raise ApplicationError(
            f"Unknown processing {processing!r}; use one of {', '.join(ProcessingKind.values)}.",
            code="invalid_processing",
        )
    existing = ProcessingObjection.objects.filter(user=user, processing=processing, withdrawn_at__isnull=True).first()
    if existing is not None:
        return existing
    objection = ProcessingObjection.objects.create(user=user, processing=processing)
    audit_log_record(
        event_type="privacy.objection_added",
        actor=_real_user(actor) or user,
        target=objection,
        extra={"processing": processing},
    )
    return objection


@transaction.atomic
def processing_objection_withdraw(*, user, processing: str, actor=None) -> bool:
    updated = ProcessingObjection.objects.filter(user=user, processing=processing, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    if updated:
        audit_log_record(
            event_type="privacy.objection_withdrawn",
            actor=_real_user(actor) or user,
            extra={"processing": processing},
        )
    return bool(updated)


def _real_user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None
