"""What a campaign to contact groups would send: each recipient's text with its merge fields filled in, its
segments and price, and the recipients that would not get a message (a merge field unknown or empty for them,
opted out, or a number already listed: a contact in two of the chosen groups gets one message unless the
customer asks for one per occurrence). Reads only; confirming (`campaigns.services`) uses the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from billing import selectors as billing_selectors
from messaging.campaigns.merge import BUILT_IN_FIELDS, fields_in, render
from messaging.contacts.models import Contact, ContactGroup
from messaging.numbers import InvalidPhoneNumber, normalize_ph_number
from messaging.segments import count_segments
from portal import hooks
from portal.crypto import phone_lookup_hash

LOAD_CHUNK = 1000
ROWS_SHOWN = 50


@dataclass
class PreviewRow:
    position: int
    contact_id: int
    number: str
    name: str
    text: str
    segments: int = 0
    price: Decimal = Decimal("0")
    error: str = ""
    duplicate: bool = False
    opted_out: bool = False

    @property
    def sendable(self) -> bool:
        return not (self.error or self.duplicate)

    @property
    def problem(self) -> str:
        if self.duplicate:
            return "Duplicate: this number is already listed; it gets one message."
        return self.error


@dataclass
class Preview:
    total: int = 0  # contacts listed by the groups, duplicates included
    sendable: int = 0  # messages that would be created
    duplicates: int = 0  # left out as duplicates (0 when sending to duplicates)
    duplicate_occurrences: int = 0  # numbers listed more than once, whatever the choice
    merge_errors: int = 0
    opted_out: int = 0  # created as rejected, not charged
    segments_total: int = 0
    price_total: Decimal = Decimal("0")
    rows: list[PreviewRow] = field(default_factory=list)  # the first ROWS_SHOWN, then problems up to ROWS_SHOWN
    contact_ids: list[int] = field(default_factory=list)  # the recipients to send to, in order


def group_contact_ids(*, groups: Iterable[ContactGroup]) -> list[int]:
    """The groups' contacts, group by group in the order given, each group's by id; a contact in two groups is
    listed twice (a duplicate)."""
    groups = list(groups)
    through = ContactGroup.contacts.through
    # The groups were read scoped to the organization; the link table has no organization of its own.
    rows = through.objects.filter(contactgroup_id__in=[g.pk for g in groups]).values_list(
        "contactgroup_id", "contact_id"
    )
    order = {group.pk: index for index, group in enumerate(groups)}
    return [contact_id for _, contact_id in sorted(rows, key=lambda row: (order[row[0]], row[1]))]


def contacts_by_id(*, organization, contact_ids: list[int]) -> Iterator[dict[int, Contact]]:
    """The contacts in chunks (bounded memory), each chunk as {id: contact}."""
    unique = list(dict.fromkeys(contact_ids))
    for start in range(0, len(unique), LOAD_CHUNK):
        chunk = unique[start : start + LOAD_CHUNK]
        yield {c.pk: c for c in Contact.objects.for_organization(organization).filter(pk__in=chunk)}


def contact_values(contact: Contact) -> dict[str, str]:
    return {**contact.fields, "name": contact.name, "phone": contact.phone_number}


def known_fields(contacts: Iterable[Contact]) -> set[str]:
    known = set(BUILT_IN_FIELDS)
    for contact in contacts:
        known |= set(contact.fields)
    return known


def campaign_preview(
    *, organization, body: str, contact_ids: list[int], send_to_duplicates: bool, rows_shown: int = ROWS_SHOWN
) -> Preview:
    preview = Preview(total=len(contact_ids))
    contacts: dict[int, Contact] = {}
    for chunk in contacts_by_id(organization=organization, contact_ids=contact_ids):
        contacts.update(chunk)
    known = known_fields(contacts.values())
    opted_out = hooks.suppressed_numbers(
        organization_id=organization.pk, numbers={c.phone_number for c in contacts.values()}
    )
    prices: dict[int, Decimal] = {}
    seen: set[str] = set()
    problems: list[PreviewRow] = []
    for position, contact_id in enumerate(contact_ids, start=1):
        contact = contacts.get(contact_id)
        if contact is None:  # deleted since the groups were read
            continue
        rendered = render(body, contact_values(contact), known=known)
        row = PreviewRow(
            position=position,
            contact_id=contact_id,
            number=contact.phone_number,
            name=contact.name,
            text=rendered.text,
            error=rendered.error,
        )
        if contact.phone_number in seen:
            preview.duplicate_occurrences += 1
            row.duplicate = not send_to_duplicates
        seen.add(contact.phone_number)
        if not row.error and len(row.text) > settings.SMS_MAX_BODY_CHARACTERS:
            row.error = (
                f"The message has {len(row.text)} characters for this recipient; "
                f"the limit is {settings.SMS_MAX_BODY_CHARACTERS}."
            )
        if row.duplicate:  # left out whatever its text: the first occurrence shows any error
            preview.duplicates += 1
        elif row.error:
            preview.merge_errors += 1
        else:
            row.segments = count_segments(row.text).segments
            row.opted_out = contact.phone_number in opted_out
            if not row.opted_out:
                if row.segments not in prices:
                    prices[row.segments] = billing_selectors.message_price(
                        organization=organization, segments=row.segments
                    )
                row.price = prices[row.segments]
            preview.sendable += 1
            preview.opted_out += row.opted_out
            preview.segments_total += row.segments if not row.opted_out else 0
            preview.price_total += row.price
            preview.contact_ids.append(contact_id)
        if len(preview.rows) < rows_shown:
            preview.rows.append(row)
        elif not row.sendable and len(problems) < rows_shown:
            problems.append(row)
    preview.rows.extend(problems)
    return preview


def texts_for_numbers(*, organization, body: str, numbers: list[str]) -> tuple[list[str] | None, list[dict]]:
    """Each typed number's text when `body` has merge fields, filled from the contact with that number: (texts,
    []) or (None, [{position, input, message}, ...]) when some number cannot fill them (not a contact, or the field
    empty for it). (None, []) when the text has no merge field. A number that is not valid is left for the send to
    refuse."""
    if not fields_in(body):
        return None, []
    e164s = []
    for raw in numbers:
        try:
            e164s.append(normalize_ph_number(raw))
        except InvalidPhoneNumber:
            e164s.append("")
    wanted = {phone_lookup_hash(n): n for n in e164s if n}
    found = Contact.objects.for_organization(organization).filter(phone_hash__in=list(wanted))
    by_number = {wanted[c.phone_hash]: c for c in found}
    known = known_fields(by_number.values())
    texts, errors = [], []
    for position, (raw, number) in enumerate(zip(numbers, e164s, strict=True), start=1):
        contact = by_number.get(number)
        values = contact_values(contact) if contact else {"phone": number}
        rendered = render(body, values, known=known)
        if number and rendered.error:
            reason = rendered.error if contact else f"Not one of your contacts. {rendered.error}"
            errors.append({"position": position, "input": str(raw)[:40], "message": reason})
        texts.append(rendered.text)
    return (None, errors) if errors else (texts, [])
