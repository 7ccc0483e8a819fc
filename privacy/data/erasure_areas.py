"""The data areas an erasure works through, in order, and what erasing one area for one person does.

What to do with each table comes from the registry (`<app>/personal_data.py`): the area code only adds what is not
a column rule — closing organizations the person solely owns, deleting their sessions, deleting export files.
Each area runs in one transaction: it is done completely or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Organization, OrganizationStatus
from accounts.roles import Role
from accounts.services import organization_close
from portal.crypto import email_lookup_hash, phone_lookup_hash
from portal.personal_data import By, ErasureArea, Finder, PersonalData
from privacy.data.erasure_rules import BATCH_SIZE, Counts, apply_finder
from privacy.data.export_archive import export_file_delete
from privacy.data.legal_holds import HoldScope, held_rows, organization_path
from privacy.data.models import DataExport
from privacy.data.registry import registry
from privacy.data.subjects import Subject, finder_queryset
from privacy.requests.models import RequestMessage

# Privacy records go last: the request's completion e-mail must be sent before its address is erased.
AREA_ORDER = [
    ErasureArea.EXPORTS,
    ErasureArea.MESSAGES,
    ErasureArea.LOGS,
    ErasureArea.BILLING,
    ErasureArea.ACCOUNTS,
    ErasureArea.PRIVACY,
]


def _close_solely_owned_organizations(subject: Subject, holds: HoldScope) -> Counts:
    """An organization whose only owner is the person is closed: keys revoked, members removed, billing
    kept. An organization under a legal hold stays as it is."""
    if subject.user_id is None or holds.person_holds(ErasureArea.ACCOUNTS, By.USER):
        return Counts()
    owned = Membership.objects.filter(user_id=subject.user_id, role=Role.OWNER).values_list(
        "organization_id", flat=True
    )
    other_owners = Membership.objects.filter(organization_id__in=owned, role=Role.OWNER).exclude(
        user_id=subject.user_id
    )
    sole = Organization.objects.filter(pk__in=owned).exclude(status=OrganizationStatus.CLOSED)
    sole = sole.exclude(pk__in=other_owners.values("organization_id")).exclude(
        pk__in=list(holds.organizations(ErasureArea.ACCOUNTS))
    )
    counts = Counts()
    for organization in sole:
        counts.found += 1
        organization_close(
            organization=organization,
            actor_membership=None,
            reason="Closed: its sole owner's data was erased",
        )
        counts.changed += 1
    return counts


def _delete_sessions(subject: Subject, holds: HoldScope) -> Counts:
    """Sign the person out everywhere: database sessions carry the user id only inside their encoded data."""
    if holds.person_holds(ErasureArea.ACCOUNTS, By.USER):
        return Counts()
    if subject.user_id is None or settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    ):
        return Counts()
    target = str(subject.user_id)
    keys = []
    for session in Session.objects.all().iterator(chunk_size=BATCH_SIZE):
        if str(session.get_decoded().get("_auth_user_id", "")) == target:
            keys.append(session.session_key)
    if keys:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        for key in keys:
            store(session_key=key).delete()  # also clears a cached_db copy
    return Counts(found=len(keys), changed=len(keys))


def _delete_export_files(subject: Subject, holds: HoldScope) -> Counts:
    if holds.person_holds(ErasureArea.EXPORTS):
        return Counts()
    query = Q(pk__in=[])
    if subject.user_id is not None:
        query |= Q(user_id=subject.user_id)
    if subject.email:
        query |= Q(email_hash=email_lookup_hash(subject.email))
    if subject.phone:
        query |= Q(phone_hash__in=[phone_lookup_hash(variant) for variant in subject.phone_variants()])
    counts = Counts()
    for export in DataExport.objects.filter(query).exclude(file_name="").iterator(chunk_size=BATCH_SIZE):
        counts.found += 1
        export_file_delete(export=export)
        counts.changed += 1
    return counts


def correspondence_pending(subject: Subject) -> bool:
    """True while an e-mail about the person's request is still waiting to be sent (it needs their
    address)."""
    query = Q(pk__in=[])
    if subject.user_id is not None:
        query |= Q(request__user_id=subject.user_id)
    if subject.email:
        query |= Q(request__email_hash=email_lookup_hash(subject.email))
    recent = timezone.now() - timedelta(days=1)
    return RequestMessage.objects.filter(query, sent_at__isnull=True, error="", created_at__gte=recent).exists()


AREA_HOOKS: dict[str, list[Callable[[Subject, HoldScope], Counts]]] = {
    ErasureArea.EXPORTS: [_delete_export_files],
    ErasureArea.ACCOUNTS: [_close_solely_owned_organizations, _delete_sessions],
}


def _held_part(
    entry: PersonalData, finder: Finder, subject: Subject, holds: HoldScope
) -> tuple[Counts, Q | None, bool]:
    """For one finder: (the rows a hold keeps, counted; the condition selecting them; whether all of them are)."""
    qs = finder_queryset(entry, finder, subject)
    if qs is None:
        return Counts(), None, False
    person = holds.person_holds(entry.area, finder.by)
    if person:
        return Counts(held=qs.count(), held_by={hold.pk for hold in person}), None, True
    organizations = holds.organizations(entry.area)
    condition = held_rows(qs, organizations)
    if condition is None:
        return Counts(), None, False
    held_ids = set(qs.filter(condition).values_list(organization_path(qs.model), flat=True))
    if not held_ids:
        return Counts(), None, False
    held = Counts(held=qs.filter(condition).count(), held_by={organizations[pk].pk for pk in held_ids})
    return held, condition, False


def erase_area(*, area: str, subject: Subject, holds: HoldScope | None = None) -> Counts:
    """Erase one area for one person, in one transaction, except what a legal hold keeps (counted in `held`).
    Idempotent: a second run finds nothing left to change."""
    holds = holds or HoldScope()
    counts = Counts()
    with transaction.atomic():
        for hook in AREA_HOOKS.get(area, []):
            counts.add(hook(subject, holds))
        for entry in registry().entries_in_area(area):
            for finder in entry.finders:
                held, condition, whole = _held_part(entry, finder, subject, holds)
                counts.add(held)
                if whole:
                    continue
                if condition is None:
                    counts.add(apply_finder(entry, finder, subject))
                else:
                    counts.add(apply_finder(entry, finder, subject, exclude=condition))
    return counts
