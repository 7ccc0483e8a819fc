"""Legal holds: data that must not be erased or purged until the hold is released, and only that data.

A hold names exactly one of a person's e-mail address (the account and what is filed under the address), a phone
number (what is found by the number: messages to it, one-time codes) or an organization (that organization's
records), and may narrow itself to one data area. An erasure erases everything else at once, tells the person
what was kept and on which ground, and erases the held rest once the hold is released. Only keyed hashes of held
identifiers are stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_log_record
from portal.errors import ApplicationError
from portal.personal_data import By, ErasureArea
from privacy.data.models import DEFAULT_HOLD_GROUND, LegalHold
from privacy.data.subjects import Subject

# What a hold on a person's e-mail address covers, and what a hold on a number covers.
EMAIL_FINDERS = frozenset({By.USER, By.EMAIL, By.EMAIL_HASH})
PHONE_FINDERS = frozenset({By.PHONE, By.PHONE_HASH})


def active_holds() -> models.QuerySet[LegalHold]:
    # Holds span organizations by nature (a person, a number): the base manager, not the tenant one.
    return LegalHold._base_manager.filter(released_at__isnull=True)


@cache
def organization_path(model: type[models.Model]) -> str | None:
    """How a row reaches its organization: `organization`, or one foreign key further (`message__organization`)."""
    if model is Organization:
        return "pk"
    relations = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model is not None]
    for relation in relations:
        if relation.related_model is Organization:
            return relation.name
    for relation in relations:
        for inner in relation.related_model._meta.concrete_fields:
            if inner.is_relation and inner.related_model is Organization:
                return f"{relation.name}__{inner.name}"
    return None


def _applies_to(hold: LegalHold, area: str) -> bool:
    return not hold.area or hold.area == area


@dataclass
class HoldScope:
    """The active holds that touch one person: holds on their address or number, and every organization hold."""

    email_holds: list[LegalHold] = field(default_factory=list)
    phone_holds: list[LegalHold] = field(default_factory=list)
    organization_holds: list[LegalHold] = field(default_factory=list)

    @classmethod
    def for_subject(cls, subject: Subject) -> HoldScope:
        scope = cls()
        for hold in active_holds().select_related("organization"):
            if hold.organization_id is not None:
                scope.organization_holds.append(hold)
            elif subject.email and hold.subject_hash == subject.email_hash:
                scope.email_holds.append(hold)
            elif subject.phone and hold.subject_hash == subject.phone_hash:
                scope.phone_holds.append(hold)
        return scope

    def person_holds(self, area: str, by: str | None = None) -> list[LegalHold]:
        """Holds on the person's address or number that cover `area` (and, given `by`, that way of finding rows)."""
        holds = []
        if by is None or by in EMAIL_FINDERS:
            holds += [hold for hold in self.email_holds if _applies_to(hold, area)]
        if by is None or by in PHONE_FINDERS:
            holds += [hold for hold in self.phone_holds if _applies_to(hold, area)]
        return holds

    def organizations(self, area: str) -> dict[int, LegalHold]:
        return {hold.organization_id: hold for hold in self.organization_holds if _applies_to(hold, area)}

    def all(self) -> list[LegalHold]:
        return [*self.email_holds, *self.phone_holds, *self.organization_holds]


def hold_description(hold: LegalHold) -> str:
    """What a hold keeps, in the words the person is told."""
    area = ErasureArea(hold.area).label.lower() if hold.area else "data"
    if hold.organization_id is not None:
        what = f"{area} held by {hold.organization.name}" if hold.area else f"records of {hold.organization.name}"
    elif hold.area:
        what = f"your {area}"
    else:
        what = "your account and the data filed under your address"
    return f"{what} ({hold.ground or DEFAULT_HOLD_GROUND})"


def holds_by_id(ids: Iterable[int]) -> list[LegalHold]:
    ids = list(ids)
    return list(LegalHold._base_manager.filter(pk__in=ids).select_related("organization")) if ids else []


@transaction.atomic
def legal_hold_place(
    *,
    reason: str,
    actor: User | None,
    email: str = "",
    phone_number: str = "",
    organization: Organization | None = None,
    area: str = "",
    ground: str = "",
) -> LegalHold:
    """Hold a person (by e-mail or number; only the keyed hash is stored) or an organization, optionally in one area."""
    if not (reason or "").strip():
        raise ApplicationError("A legal hold needs a reason.", code="reason_required")
    if area and area not in ErasureArea.values:
        raise ApplicationError(f"Unknown data area {area!r}.", code="invalid_area")
    subject = Subject.build(user_id=None, email=email, phone=phone_number)
    if bool(subject.email) + bool(subject.phone) + (organization is not None) != 1:
        raise ApplicationError(
            "A legal hold names exactly one of: an e-mail address, a phone number, an organization.",
            code="invalid_hold",
        )
    hold = LegalHold._base_manager.create(
        subject_hash=subject.email_hash or subject.phone_hash,
        organization=organization,
        area=area,
        reason=reason.strip(),
        ground=(ground or "").strip() or DEFAULT_HOLD_GROUND,
        placed_by=actor,
    )
    audit_log_record(event_type="privacy.legal_hold_placed", organization=organization, actor=actor, target=hold)
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: User | None) -> LegalHold:
    hold = LegalHold._base_manager.select_for_update().get(pk=hold.pk)
    if hold.released_at is None:
        hold.released_at = timezone.now()
        hold.released_by = actor
        hold.save(update_fields=["released_at", "released_by"])
        audit_log_record(
            event_type="privacy.legal_hold_released", organization=hold.organization, actor=actor, target=hold
        )
        # Data this hold kept is erased at the next scheduler run (erasures_run_due).
    return hold


def held_rows(qs: models.QuerySet, organization_ids: Iterable[int]) -> Q | None:
    """The condition that selects rows of held organizations in `qs`, or None when its model has no organization."""
    path = organization_path(qs.model)
    organization_ids = list(organization_ids)
    if path is None or not organization_ids:
        return None
    return Q(**{f"{path}__in": organization_ids})
