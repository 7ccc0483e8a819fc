"""Contacts and opt-outs are personal data privacy finds by the number (through their keyed-hash column, the
number itself being encrypted) and erases: a person's contact rows go in every organization, nobody else's."""

from messaging.campaigns import services as campaign_services
from messaging.contacts import selectors, services
from portal.personal_data import ErasureArea
from privacy.data.erasure_areas import erase_area
from privacy.data.registry import registry
from privacy.data.subjects import Subject, finder_queryset


def test_a_number_is_found_in_every_address_book_and_erased_from_them(org_a, org_b, owner_a):
    services.contact_create(organization=org_a, phone_number="09171234567", name="Ana", fields={"city": "Makati"})
    services.contact_create(organization=org_b, phone_number="+639171234567", name="Ana B")
    services.contact_create(organization=org_a, phone_number="09181234567", name="Ben")
    services.opt_out_add(organization=org_a, actor=owner_a, phone_number="639171234567", reason="asked")
    ana = Subject.build(user_id=None, phone="0917 123 4567")

    entry = registry().entries["messaging.Contact"]
    found = finder_queryset(entry, entry.finders[0], ana)
    assert sorted(contact.name for contact in found) == ["Ana", "Ana B"]

    erase_area(area=ErasureArea.MESSAGES, subject=ana)
    assert [c.name for c in selectors.contact_list(organization=org_a)] == ["Ben"]
    assert selectors.contact_count(organization=org_b) == 0
    assert selectors.opt_out_list(organization=org_a).count() == 0


def test_the_user_who_composed_a_campaign_is_unlinked_on_erasure(org_a, owner_a):
    group = services.group_create(organization=org_a, name="G")
    campaign = campaign_services.campaign_create(
        organization=org_a, actor=owner_a, name="Sale", group_ids=[group.pk], body="Hi"
    )
    erase_area(area=ErasureArea.MESSAGES, subject=Subject.build(user_id=owner_a.pk))
    campaign.refresh_from_db()
    assert campaign.created_by_id is None and campaign.name == "Sale"
