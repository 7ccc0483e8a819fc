"""Legal holds: a person (by keyed hash of their e-mail or number) or an organization whose data must not be
erased or purged until the hold is released. A held erasure waits; the next scheduler run after the release
carries it on."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.services import audit_log_record
from messaging.models import Message
from portal.errors import ApplicationError
from privacy.data.models import LegalHold
from privacy.data.subjects import Subject


def _subject_organization_ids(subject: Subject) -> set[int]:
    ids: set[int] = set()
    if subject.user_id is not None:
        ids |= set(Membership.objects.filter(user_id=subject.user_id).values_list("organization_id", flat=True))
    if subject.phone:
        ids |= set(
            Message.objects.filter(recipient__in=subject.phone_variants())
            .values_list("organization_id", flat=True)
            .distinct()
        )
    return ids


def holds_for(subject: Subject) -> list[LegalHold]:
    hashes = [value for value in (subject.email_hash, subject.phone_hash) if value]
    query = Q(subject_hash__in=hashes) if hashes else Q(pk__in=[])
    organization_ids = _subject_organization_ids(subject)
    if organization_ids:
        query |= Q(organization_id__in=organization_ids)
    return list(LegalHold.objects.filter(query, released_at__isnull=True))


@transaction.atomic
def legal_hold_place(
    *,
    reason: str,
    actor: User | None,
    email: str = "",
    phone_number: str = "",
    organization: Organization | None = None,
) -> LegalHold:
    """Hold a person (by e-mail or number; only the keyed hash is stored) or an organization."""
    if not (reason or "").strip():
        raise ApplicationError("A legal hold needs a reason.", code="reason_required")
    subject = Subject.build(user_id=None, email=email, phone=phone_number)
    if bool(subject.email) + bool(subject.phone) + (organization is not None) != 1:
        raise ApplicationError(
            "A legal hold names exactly one of: an e-mail address, a phone number, an organization.",
            code="invalid_hold",
        )
    hold = LegalHold.objects.create(
        subject_hash=subject.email_hash or subject.phone_hash,
        organization=organization,
        reason=reason.strip(),
        placed_by=actor,
    )
    audit_log_record(event_type="privacy.legal_hold_placed", organization=organization, actor=actor, target=hold)
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: User | None) -> LegalHold:
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is None:
        hold.released_at = timezone.now()
        hold.released_by = actor
        hold.save(update_fields=["released_at", "released_by"])
        audit_log_record(
            event_type="privacy.legal_hold_released", organization=hold.organization, actor=actor, target=hold
        )
        # Erasures waiting for this hold go on at the next scheduler run (erasures_run_due).
    return hold
