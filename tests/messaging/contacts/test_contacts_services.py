"""Address book services: CSV import with a column mapping (custom fields kept, duplicates merged in any number
form, bad rows reported), tags and groups, and the organization's own opt-out list suppressing its sends."""

from decimal import Decimal

import pytest
from django.db import connection

from billing.selectors import balance_get
from messaging.contacts import importing, selectors, services
from messaging.contacts.models import Contact, ContactGroup
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.services.sending import message_send
from portal.errors import ApplicationError, Conflict, NotFound
from tests.messaging.address_book_fixtures import MAPPING, contacts_csv


def test_import_maps_columns_keeps_custom_fields_and_merges_duplicates(org_a, owner_a):
    result = importing.contacts_import(
        organization=org_a, actor=owner_a, data=contacts_csv(), mapping=MAPPING, group_name="VIP", tags=["Manila"]
    )
    assert (result.created, result.updated, result.duplicates_in_file, result.invalid) == (2, 0, 1, 1)
    assert result.errors[0]["row"] == 5 and result.errors[0]["input"] == "12345"
    ana = selectors.contact_list(organization=org_a, phone="09171234567").get()
    assert ana.phone_number == "+639171234567"
    assert ana.name == "Ana Cruz"  # the later row wins
    assert ana.fields == {"city": "Makati"}  # "Notes" was skipped
    assert [t.name for t in ana.tags.all()] == ["manila"]
    group = ContactGroup.objects.for_organization(org_a).get(name="VIP")
    assert group.pk == result.group_id
    assert selectors.contact_list(organization=org_a, group_id=group.pk).count() == 2
    # Stored encrypted: the column never holds the number in clear.
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_number, name FROM messaging_contact WHERE id = %s", [ana.pk])
        stored = cursor.fetchone()
    assert "9171234567" not in stored[0] and "Ana" not in stored[1]


def test_import_again_updates_instead_of_adding(org_a):
    importing.contacts_import(organization=org_a, data=contacts_csv(), mapping=MAPPING)
    again = importing.contacts_import(
        organization=org_a, data=b"phone,name,tier\n09171234567,,gold\n", mapping={"phone": "phone", "name": "name"}
    )
    assert (again.created, again.updated) == (0, 1)
    ana = selectors.contact_list(organization=org_a, phone="+639171234567").get()
    assert ana.name == "Ana Cruz" and ana.fields == {"city": "Makati", "tier": "gold"}
    assert selectors.contact_count(organization=org_a) == 2


@pytest.mark.parametrize(
    "mapping",
    [
        {"Mobile": "field", "Full name": "name"},  # no phone column
        {"Mobile": "phone", "Full name": "phone"},  # two phone columns
        {"Mobile": "phone", "Missing": "name"},  # no such column
    ],
)
def test_import_refuses_a_mapping_without_exactly_one_phone_column(org_a, mapping):
    with pytest.raises(ApplicationError) as exc:
        importing.contacts_import(organization=org_a, data=contacts_csv(), mapping=mapping)
    assert exc.value.code == "invalid_mapping"
    assert selectors.contact_count(organization=org_a) == 0


def test_contact_numbers_are_unique_per_organization_only(org_a, org_b):
    services.contact_create(organization=org_a, phone_number="09171234567", name="Ana")
    with pytest.raises(Conflict):
        services.contact_create(organization=org_a, phone_number="+639171234567")
    services.contact_create(organization=org_b, phone_number="639171234567")
    assert selectors.contact_count(organization=org_b) == 1
    with pytest.raises(NotFound):
        selectors.contact_get(organization=org_b, contact_id=Contact.objects.for_organization(org_a).get().pk)


def test_group_members_refuse_another_organizations_contact(org_a, org_b):
    group = services.group_create(organization=org_a, name="Staff")
    theirs = services.contact_create(organization=org_b, phone_number="09171234567")
    with pytest.raises(NotFound):
        services.group_members_set(organization=org_a, group_id=group.pk, add=[theirs.pk])
    with pytest.raises(NotFound):
        services.group_delete(organization=org_b, group_id=group.pk)


def test_organization_opt_out_suppresses_only_its_own_sends(org_a, org_b, funded):
    services.opt_out_add(organization=org_a, phone_number="0917 123 4567", reason="asked at the counter")
    sent_a = message_send(
        organization=org_a, recipients=["09171234567", "09181234567"], body="Sale", channel=MessageChannel.API
    )
    assert [m.status for m in sent_a] == [MessageStatus.REJECTED, MessageStatus.QUEUED]
    assert sent_a[0].error_code == "recipient_opted_out" and sent_a[0].price == Decimal("0")
    assert balance_get(organization=org_a) == Decimal("100") - sent_a[1].price
    sent_b = message_send(organization=org_b, recipients=["09171234567"], body="Hi", channel=MessageChannel.API)
    assert sent_b[0].status == MessageStatus.QUEUED
    # Adding it twice changes nothing; removing it lets the organization send again.
    opt_out = services.opt_out_add(organization=org_a, phone_number="+639171234567")
    services.opt_out_remove(organization=org_a, opt_out_id=opt_out.pk)
    again = message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel=MessageChannel.API)
    assert again[0].status == MessageStatus.QUEUED
    assert Message.objects.for_organization(org_a).count() == 3
