"""Writes of the address book: contacts, tags, groups and the organization's opt-out list (one transaction each).

Numbers are stored in E.164 (encrypted) with their keyed hash; one contact per number per organization.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import audit_log_record, require_active_organization
from messaging.campaigns.merge import BUILT_IN_FIELDS, field_key
from messaging.contacts.models import Contact, ContactGroup, OptOut, Tag
from messaging.numbers import normalize_ph_number
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError, Conflict, NotFound

MAX_TAG_LENGTH = 40


def _clean_fields(fields: dict | None) -> dict[str, str]:
    cleaned = {}
    for name, value in (fields or {}).items():
        key = field_key(str(name))
        if not key or key in BUILT_IN_FIELDS:
            raise ApplicationError(
                f"Field {name!r} cannot be a custom field name (empty or built in: {', '.join(BUILT_IN_FIELDS)}).",
                code="invalid_field",
            )
        if value not in (None, ""):
            cleaned[key] = str(value)[:500]
    return cleaned


def _clean_tags(tags: Iterable[str]) -> list[str]:
    return sorted({tag.strip().lower()[:MAX_TAG_LENGTH] for tag in tags if tag and tag.strip()})


def _tags_get_or_create(*, organization, names: list[str]) -> list[Tag]:
    existing = {tag.name: tag for tag in Tag.objects.for_organization(organization).filter(name__in=names)}
    missing = [Tag(organization=organization, name=name) for name in names if name not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        existing = {tag.name: tag for tag in Tag.objects.for_organization(organization).filter(name__in=names)}
    return [existing[name] for name in names]


def contacts_tag(*, organization, contacts: list[Contact], tags: Iterable[str]) -> None:
    """Add tags to contacts (joins the caller's transaction)."""
    names = _clean_tags(tags)
    if not names or not contacts:
        return
    through = Contact.tags.through
    links = [
        through(contact_id=contact.pk, tag_id=tag.pk)
        for tag in _tags_get_or_create(organization=organization, names=names)
        for contact in contacts
    ]
    through.objects.bulk_create(links, ignore_conflicts=True)


@transaction.atomic
def contact_create(
    *, organization, actor=None, phone_number: str, name: str = "", fields: dict | None = None, tags=()
) -> Contact:
    """A new contact; 409 `duplicate_contact` when the number is already in the address book."""
    require_active_organization(organization=organization)
    number = normalize_ph_number(phone_number)
    if Contact.objects.for_organization(organization).filter(phone_hash=phone_lookup_hash(number)).exists():
        raise Conflict("This number is already a contact.", code="duplicate_contact")
    cleaned = _clean_fields(fields)
    contact = Contact.objects.create(
        organization=organization,
        phone_number=number,
        name=(name or "").strip()[:200],
        custom_fields=json.dumps(cleaned) if cleaned else "",
    )
    contacts_tag(organization=organization, contacts=[contact], tags=tags)
    audit_log_record(event_type="contact.created", organization=organization, actor=actor, target=contact)
    return contact


@transaction.atomic
def contact_update(
    *, organization, actor=None, contact_id: int, name: str | None = None, fields: dict | None = None, tags=None
) -> Contact:
    """Change a contact's name, custom fields (replaced as given) or tags (replaced as given)."""
    contact = Contact.objects.for_organization(organization).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("No such contact.")
    if name is not None:
        contact.name = name.strip()[:200]
    if fields is not None:
        cleaned = _clean_fields(fields)
        contact.custom_fields = json.dumps(cleaned) if cleaned else ""
    contact.updated_at = timezone.now()
    contact.save()
    if tags is not None:
        # The link table directly: the related manager's read of the current tags would not name the organization.
        Contact.tags.through.objects.filter(contact_id=contact.pk).delete()
        contacts_tag(organization=organization, contacts=[contact], tags=tags)
    audit_log_record(event_type="contact.updated", organization=organization, actor=actor, target=contact)
    return contact


@transaction.atomic
def contact_delete(*, organization, actor=None, contact_id: int) -> None:
    deleted, _ = Contact.objects.for_organization(organization).filter(pk=contact_id).delete()
    if not deleted:
        raise NotFound("No such contact.")
    audit_log_record(event_type="contact.deleted", organization=organization, actor=actor, extra={"id": contact_id})


# --- groups ---


def group_get_or_create(*, organization, name: str) -> ContactGroup:
    """The group of that name, created when new (joins the caller's transaction)."""
    name = name.strip()[:80]
    if not name:
        raise ApplicationError("A group needs a name.", code="invalid_group")
    group, _ = ContactGroup.objects.for_organization(organization).get_or_create(organization=organization, name=name)
    return group


@transaction.atomic
def group_create(*, organization, actor=None, name: str, description: str = "") -> ContactGroup:
    require_active_organization(organization=organization)
    name = name.strip()[:80]
    if not name:
        raise ApplicationError("A group needs a name.", code="invalid_group")
    try:
        with transaction.atomic():
            group = ContactGroup.objects.create(organization=organization, name=name, description=description[:200])
    except IntegrityError:
        raise Conflict(f"There is already a group named {name!r}.", code="duplicate_group")
    audit_log_record(event_type="contact_group.created", organization=organization, actor=actor, target=group)
    return group


def _group(organization, group_id: int) -> ContactGroup:
    group = ContactGroup.objects.for_organization(organization).filter(pk=group_id).first()
    if group is None:
        raise NotFound("No such group.")
    return group


@transaction.atomic
def group_update(
    *, organization, actor=None, group_id: int, name: str | None = None, description: str | None = None
) -> ContactGroup:
    group = _group(organization, group_id)
    if name is not None and name.strip():
        group.name = name.strip()[:80]
    if description is not None:
        group.description = description[:200]
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise Conflict(f"There is already a group named {group.name!r}.", code="duplicate_group")
    return group


@transaction.atomic
def group_delete(*, organization, actor=None, group_id: int) -> None:
    """Delete the group; its contacts stay in the address book."""
    group = _group(organization, group_id)
    group.delete()
    audit_log_record(event_type="contact_group.deleted", organization=organization, actor=actor, extra={"id": group_id})


@transaction.atomic
def group_members_set(
    *, organization, actor=None, group_id: int, add: Iterable[int] = (), remove: Iterable[int] = ()
) -> ContactGroup:
    """Add and remove contacts by id; an id that is not one of the organization's contacts is a 404."""
    group = _group(organization, group_id)
    add, remove = set(add), set(remove)
    wanted = add | remove
    found = set(Contact.objects.for_organization(organization).filter(pk__in=wanted).values_list("pk", flat=True))
    if found != wanted:
        raise NotFound("No such contact.")
    if add:
        group.contacts.add(*add)
    if remove:
        group.contacts.remove(*remove)
    return group


# --- the organization's opt-out list ---


@transaction.atomic
def opt_out_add(*, organization, actor=None, phone_number: str, reason: str = "") -> OptOut:
    """The organization stops sending to the number (idempotent: an opted-out number stays as it was)."""
    require_active_organization(organization=organization)
    number = normalize_ph_number(phone_number)
    existing = OptOut.objects.for_organization(organization).filter(phone_hash=phone_lookup_hash(number)).first()
    if existing is not None:
        return existing
    opt_out = OptOut.objects.create(
        organization=organization,
        phone_number=number,
        reason=(reason or "").strip()[:200],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_log_record(event_type="opt_out.added", organization=organization, actor=actor, target=opt_out)
    return opt_out


@transaction.atomic
def opt_out_remove(*, organization, actor=None, opt_out_id: int) -> None:
    deleted, _ = OptOut.objects.for_organization(organization).filter(pk=opt_out_id).delete()
    if not deleted:
        raise NotFound("No such opt-out.")
    audit_log_record(event_type="opt_out.removed", organization=organization, actor=actor, extra={"id": opt_out_id})
