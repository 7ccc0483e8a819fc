"""Reads of the address book; every read takes `organization=` and another organization's id is a 404."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from django.db.models import Count, Prefetch, QuerySet

from messaging.contacts.models import Contact, ContactGroup, OptOut, Tag
from messaging.numbers import InvalidPhoneNumber, normalize_ph_number
from portal import hooks
from portal.crypto import phone_lookup_hash
from portal.errors import NotFound


def number_hash(number: str) -> str:
    """The keyed hash of a number typed in any accepted form (a bad number matches nothing)."""
    with contextlib.suppress(InvalidPhoneNumber):
        number = normalize_ph_number(number)
    return phone_lookup_hash(number)


def contact_list(*, organization, tag: str = "", group_id: int | None = None, phone: str = "") -> QuerySet[Contact]:
    """The organization's contacts, newest first, tags loaded (no query per row)."""
    queryset = Contact.objects.for_organization(organization).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.unscoped().order_by("name"))  # reached through the scoped contacts
    )
    if tag:
        queryset = queryset.filter(tags__name=tag.strip().lower())
    if group_id is not None:
        queryset = queryset.filter(groups__id=group_id)
    if phone:
        queryset = queryset.filter(phone_hash=number_hash(phone))
    return queryset.order_by("-created_at", "-id")


def contact_get(*, organization, contact_id: int) -> Contact:
    contact = contact_list(organization=organization).filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def contact_count(*, organization) -> int:
    return Contact.objects.for_organization(organization).count()


def tag_list(*, organization) -> list[Tag]:
    return list(Tag.objects.for_organization(organization).order_by("name"))


def group_list(*, organization) -> QuerySet[ContactGroup]:
    """The organization's groups with their member counts."""
    return (
        ContactGroup.objects.for_organization(organization)
        .annotate(member_count=Count("contacts", distinct=True))
        .order_by("name", "id")
    )


def group_get(*, organization, group_id: int) -> ContactGroup:
    group = group_list(organization=organization).filter(pk=group_id).first()
    if group is None:
        raise NotFound("No such group.")
    return group


def groups_get(*, organization, group_ids: Iterable[int]) -> list[ContactGroup]:
    """Several groups by id, in the order given; any id not the organization's is a 404."""
    group_ids = list(dict.fromkeys(int(i) for i in group_ids))
    groups = {g.pk: g for g in group_list(organization=organization).filter(pk__in=group_ids)}
    if len(groups) != len(group_ids):
        raise NotFound("No such group.")
    return [groups[i] for i in group_ids]


def opt_out_list(*, organization) -> QuerySet[OptOut]:
    return OptOut.objects.for_organization(organization).order_by("-created_at", "-id")


def organization_opted_out(*, organization_id: int, numbers: Iterable[str]) -> set[str]:
    """The numbers (E.164) among `numbers` on the organization's own opt-out list."""
    return hooks.suppression_lookups_run(
        [organization_opted_out_lookup(organization_id=organization_id, numbers=list(numbers))]
    )


def organization_opted_out_lookup(
    *, organization_id: int, numbers: list[str], number_hashes: Mapping[str, str] | None = None
) -> hooks.SuppressionLookup | None:
    """Messaging's answer to `portal.hooks.send_suppressions` (asked beside the platform's suppressions, privacy's,
    at acceptance and claim): the organization's own opt-out list. `number_hashes` ({number: keyed hash of its
    E.164 form}) when the caller holds them already: the dispatcher passes each message's stored `recipient_hash`
    instead of hashing a thousand numbers a claim again (a number without one is hashed here)."""
    known = number_hashes or {}
    by_hash: dict[str, list[str]] = {}
    for number in numbers:
        hashed = known.get(number) or phone_lookup_hash(number)
        if hashed:  # an empty number matches nothing
            by_hash.setdefault(hashed, []).append(number)
    if not by_hash:
        return None
    condition, params = hooks.hashes_in("phone_hash", by_hash)
    return hooks.SuppressionLookup(
        sql=f"SELECT phone_hash FROM {OptOut._meta.db_table} WHERE organization_id = %s AND {condition}",  # noqa: S608 - names from the model
        params=[organization_id, *params],
        numbers_by_hash=by_hash,
    )
