"""Sender names: an organization requests them, staff approve or reject them, messages use only approved ones.

`sender_name_choose` is the one place that decides which sender name a new message asks for: the name the caller
gave (it must be approved for the organization, or be the sender name of a route in the chain), else the
organization's default approved name, else none (the route's own name is used). The route that finally takes the
message records the name it actually went out with (`Message.sender_name`).
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_log_record
from messaging.models import SenderName, SenderNameStatus
from portal.errors import ApplicationError, Conflict, NotFound

SENDER_NAME_MAX_LENGTH = 11
_ALLOWED = re.compile(r"[A-Za-z0-9 ]+")


def sender_name_validate(name: str) -> str:
    """The name trimmed; up to 11 characters, letters, digits and spaces, at least one letter or digit."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ApplicationError("Give a sender name.", code="invalid_sender_name")
    if len(name) > SENDER_NAME_MAX_LENGTH or not _ALLOWED.fullmatch(name):
        raise ApplicationError(
            f"{name[:20]!r} is not a valid sender name: up to {SENDER_NAME_MAX_LENGTH} letters, digits or spaces.",
            code="invalid_sender_name",
        )
    return name


# --- selectors ---


def sender_name_list(*, organization: Organization) -> QuerySet[SenderName]:
    return SenderName.objects.filter(organization=organization).order_by("name", "id")


def sender_names_approved(*, organization: Organization) -> list[str]:
    return list(
        SenderName.objects.filter(organization=organization, status=SenderNameStatus.APPROVED)
        .order_by("name")
        .values_list("name", flat=True)
    )


def sender_name_default(*, organization: Organization) -> str:
    return (
        SenderName.objects.filter(organization=organization, status=SenderNameStatus.APPROVED, is_default=True)
        .values_list("name", flat=True)
        .first()
        or ""
    )


def sender_name_choose(*, organization: Organization, requested: str | None, route_names: set[str]) -> str:
    """The sender name a new message asks for ("" = the route's own). Raises `sender_name_not_approved`."""
    if requested in (None, ""):
        return sender_name_default(organization=organization)
    if requested in route_names:
        return requested
    approved = sender_names_approved(organization=organization)
    if requested not in approved:
        choices = ", ".join(approved) if approved else "none yet; request one on the Sender names page"
        raise ApplicationError(
            f"The sender name {str(requested)[:20]!r} is not approved for this organization (approved: {choices}).",
            code="sender_name_not_approved",
            details={"sender_name": str(requested)[:20], "approved": approved},
        )
    return requested


# --- services ---


@transaction.atomic
def sender_name_request(*, organization: Organization, name: str, purpose: str = "", actor=None, api_key=None):
    """Ask staff to approve `name` for the organization. A rejected name may be asked for again."""
    name = sender_name_validate(name)
    existing = SenderName.objects.filter(organization=organization, name__iexact=name).first()
    if existing is not None and existing.status != SenderNameStatus.REJECTED:
        raise Conflict(f"The sender name {name!r} is already {existing.status}.", code="sender_name_exists")
    if existing is not None:
        existing.name, existing.status, existing.purpose = name, SenderNameStatus.PENDING, purpose[:255]
        existing.reason, existing.reviewed_at, existing.created_at = "", None, timezone.now()
        existing.save()
        sender_name = existing
    else:
        try:
            sender_name = SenderName.objects.create(organization=organization, name=name, purpose=purpose[:255])
        except IntegrityError:
            raise Conflict(f"The sender name {name!r} was just requested.", code="sender_name_exists")
    audit_log_record(
        event_type="sender_name.requested",
        organization=organization,
        actor=actor,
        api_key=api_key,
        target=sender_name,
        extra={"name": name},
    )
    return sender_name


def _decide(*, sender_name: SenderName, status: str, reason: str, actor) -> SenderName:
    sender_name.status = status
    sender_name.reason = reason[:255]
    sender_name.reviewed_at = timezone.now()
    if status != SenderNameStatus.APPROVED:
        sender_name.is_default = False
    sender_name.save()
    audit_log_record(
        event_type=f"sender_name.{status}",
        organization=sender_name.organization,
        actor=actor,
        target=sender_name,
        extra={"name": sender_name.name, "reason": sender_name.reason},
    )
    return sender_name


@transaction.atomic
def sender_name_approve(*, sender_name: SenderName, actor, reason: str = "") -> SenderName:
    """Staff approve a name. The organization's first approved name becomes its default."""
    has_default = SenderName.objects.filter(organization_id=sender_name.organization_id, is_default=True).exists()
    if not has_default:
        sender_name.is_default = True
    return _decide(sender_name=sender_name, status=SenderNameStatus.APPROVED, reason=reason, actor=actor)


@transaction.atomic
def sender_name_reject(*, sender_name: SenderName, actor, reason: str) -> SenderName:
    if not (reason or "").strip():
        raise ApplicationError("Give the organization a reason for rejecting the name.", code="reason_required")
    return _decide(sender_name=sender_name, status=SenderNameStatus.REJECTED, reason=reason.strip(), actor=actor)


@transaction.atomic
def sender_name_set_default(*, organization: Organization, name: str, actor=None, api_key=None) -> SenderName:
    """Make an approved name the one messages use when they name none."""
    sender_name = SenderName.objects.filter(
        organization=organization, name=name, status=SenderNameStatus.APPROVED
    ).first()
    if sender_name is None:
        raise NotFound(f"No approved sender name {str(name)[:20]!r}.")
    SenderName.objects.filter(organization=organization, is_default=True).exclude(pk=sender_name.pk).update(
        is_default=False
    )
    sender_name.is_default = True
    sender_name.save(update_fields=["is_default"])
    audit_log_record(
        event_type="sender_name.default_set",
        organization=organization,
        actor=actor,
        api_key=api_key,
        target=sender_name,
        extra={"name": sender_name.name},
    )
    return sender_name
