"""Address book and campaign pages: a viewer reads but cannot change or send, a developer adds, tags, groups and
opts out numbers, and every page of another organization's object is a 404."""

import pytest
from django.urls import reverse

from messaging.campaigns import services as campaign_services
from messaging.contacts import selectors
from messaging.contacts import services as contact_services


@pytest.fixture
def client_dev_a(login_as, developer_a, org_a):
    return login_as(developer_a, org_a)


@pytest.fixture
def client_viewer_a(login_as, viewer_a, org_a):
    return login_as(viewer_a, org_a)


def test_viewer_reads_but_cannot_change_or_send(client_viewer_a, org_a, chain):
    for name in ("contacts", "contact_groups", "opt_outs", "templates", "campaigns"):
        assert client_viewer_a.get(reverse(f"messaging:{name}")).status_code == 200
    assert client_viewer_a.post(reverse("messaging:contacts"), {"phone_number": "09171234567"}).status_code == 403
    assert client_viewer_a.get(reverse("messaging:campaign_new")).status_code == 403
    assert client_viewer_a.get(reverse("messaging:contacts_import")).status_code == 403


def test_developer_adds_a_tagged_contact_a_group_and_an_opt_out(client_dev_a, org_a, chain):
    answer = client_dev_a.post(
        reverse("messaging:contacts"), {"phone_number": "0917 123 4567", "name": "Ana", "tags": "VIP, manila"}
    )
    assert answer.status_code == 302
    contact = selectors.contact_list(organization=org_a, tag="vip").get()
    assert contact.phone_number == "+639171234567" and contact.name == "Ana"
    duplicate = client_dev_a.post(reverse("messaging:contacts"), {"phone_number": "+639171234567"})
    assert duplicate.status_code == 400 and "already a contact" in duplicate.content.decode()
    assert client_dev_a.post(reverse("messaging:contact_groups"), {"name": "Staff"}).status_code == 302
    assert client_dev_a.post(reverse("messaging:opt_outs"), {"phone_number": "09181234567"}).status_code == 302
    page = client_dev_a.get(reverse("messaging:opt_outs")).content.decode()
    assert "+639181234567" in page
    assert client_dev_a.post(reverse("messaging:contacts"), {"delete": "abc"}).status_code == 404


def test_another_organizations_campaign_pages_are_404(client_dev_a, org_b, chain):
    group = contact_services.group_create(organization=org_b, name="B")
    campaign = campaign_services.campaign_create(organization=org_b, name="B", group_ids=[group.pk], body="Hi")
    for name in ("campaign_detail", "campaign_progress"):
        assert client_dev_a.get(reverse(f"messaging:{name}", args=[campaign.pk])).status_code == 404
    for name in ("campaign_confirm", "campaign_cancel"):
        assert client_dev_a.post(reverse(f"messaging:{name}", args=[campaign.pk])).status_code == 404
    assert client_dev_a.post(reverse("messaging:contact_groups"), {"delete": str(group.pk)}).status_code == 404
