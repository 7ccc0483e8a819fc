"""Address book, template and campaign endpoints with two organizations: each sees only its own (another
organization's id answers 404), scopes read/send are enforced, lists are cursor pages whose query count does not
grow with the page, and a campaign goes from draft through preview and confirm to its counts, or is cancelled."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.services import api_key_create
from messaging.campaigns import services as campaign_services
from messaging.contacts import importing
from messaging.contacts import services as contact_services
from messaging.contacts.models import ContactGroup
from messaging.models import Message, MessageStatus
from tests.conftest import bearer_client
from tests.messaging.address_book_fixtures import MAPPING, contacts_csv


def client_with(organization, *scopes):
    _, raw = api_key_create(organization=organization, actor=None, name="k", scopes=list(scopes))
    return bearer_client(raw)


@pytest.fixture
def address_book(org_a, org_b, funded):
    importing.contacts_import(organization=org_a, data=contacts_csv(), mapping=MAPPING, group_name="VIP", tags=["x"])
    group_a = ContactGroup.objects.for_organization(org_a).get(name="VIP")
    template_a = campaign_services.template_create(organization=org_a, name="Hello", body="Hi {name}!")
    contact_b = contact_services.contact_create(organization=org_b, phone_number="09171234567", name="Bea")
    group_b = contact_services.group_create(organization=org_b, name="Theirs")
    template_b = campaign_services.template_create(organization=org_b, name="Theirs", body="Hi")
    campaign_b = campaign_services.campaign_create(organization=org_b, name="B", group_ids=[group_b.pk], body="Hi")
    opt_out_b = contact_services.opt_out_add(organization=org_b, phone_number="09181234567")
    return {
        "group_a": group_a,
        "template_a": template_a,
        "b": {
            "contacts": contact_b.pk,
            "contact-groups": group_b.pk,
            "templates": template_b.pk,
            "campaigns": campaign_b.pk,
            "opt-outs": opt_out_b.pk,
        },
    }


def test_contacts_list_filters_and_pages(org_a, address_book, django_assert_max_num_queries):
    client = client_with(org_a, "read")
    client.get("/api/v1/contacts")  # the key's last use is recorded once a minute
    with django_assert_max_num_queries(8):  # key, organization, count-free page, tags prefetch, log: never per row
        body = client.get("/api/v1/contacts?page_size=1").json()
    assert len(body["results"]) == 1 and body["next_cursor"]
    second = client.get(body["next"]).json()
    numbers = {body["results"][0]["phone_number"], second["results"][0]["phone_number"]}
    assert numbers == {"+639171234567", "+639181234567"} and second["next"] is None
    ana = client.get("/api/v1/contacts?phone=0917 123 4567").json()["results"]
    assert [(c["name"], c["fields"], c["tags"]) for c in ana] == [("Ana Cruz", {"city": "Makati"}, ["x"])]
    group = address_book["group_a"].pk
    assert len(client.get(f"/api/v1/contacts?group={group}").json()["results"]) == 2
    assert client.get("/api/v1/contacts?group=abc").status_code == 400


@pytest.mark.parametrize("kind", ["contacts", "contact-groups", "templates", "campaigns"])
def test_lists_query_count_does_not_grow_with_rows(org_a, kind, funded, django_assert_max_num_queries):
    group = contact_services.group_create(organization=org_a, name="G")
    for index in range(30):
        contact = contact_services.contact_create(
            organization=org_a, phone_number=f"0917{index:07d}", name=f"P{index}", tags=["a", "b"]
        )
        contact_services.group_members_set(organization=org_a, group_id=group.pk, add=[contact.pk])
        if index < 10:
            contact_services.group_create(organization=org_a, name=f"G{index}")
            campaign_services.template_create(organization=org_a, name=f"T{index}", body="Hi {name}")
            campaign_services.campaign_create(organization=org_a, name=f"C{index}", group_ids=[group.pk], body="Hi")
    client = client_with(org_a, "read")
    client.get(f"/api/v1/{kind}")
    with django_assert_max_num_queries(9):
        body = client.get(f"/api/v1/{kind}?page_size=200").json()
    assert len(body["results"]) >= 10


@pytest.mark.parametrize("kind", ["contacts", "contact-groups", "templates", "campaigns"])
def test_another_organizations_object_answers_404(org_a, address_book, kind):
    theirs = address_book["b"][kind]
    reader, writer = client_with(org_a, "read"), client_with(org_a, "send")
    assert reader.get(f"/api/v1/{kind}/{theirs}").status_code == 404
    if kind == "campaigns":  # a campaign is cancelled, not deleted
        assert writer.post(f"/api/v1/{kind}/{theirs}/cancel").status_code == 404
    else:
        assert writer.delete(f"/api/v1/{kind}/{theirs}").status_code == 404
    assert theirs not in [item["id"] for item in reader.get(f"/api/v1/{kind}").json()["results"]]


def test_another_organizations_campaign_cannot_be_previewed_confirmed_or_cancelled(org_a, address_book):
    theirs = address_book["b"]["campaigns"]
    client = client_with(org_a, "read", "send")
    assert client.get(f"/api/v1/campaigns/{theirs}/preview").status_code == 404
    assert client.post(f"/api/v1/campaigns/{theirs}/confirm").status_code == 404
    assert client.post(f"/api/v1/campaigns/{theirs}/cancel").status_code == 404
    their_group = address_book["b"]["contact-groups"]
    created = client.post("/api/v1/campaigns", {"name": "x", "group_ids": [their_group], "body": "Hi"}, format="json")
    assert created.status_code == 404
    members = client.post(
        f"/api/v1/contact-groups/{address_book['group_a'].pk}/members",
        {"add": [address_book["b"]["contacts"]]},
        format="json",
    )
    assert members.status_code == 404
    assert client.delete(f"/api/v1/opt-outs/{address_book['b']['opt-outs']}").status_code == 404


def test_writes_need_the_send_scope(org_a, address_book):
    reader = client_with(org_a, "read")
    answer = reader.post("/api/v1/contacts", {"phone_number": "09191234567"}, format="json")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "insufficient_scope"
    assert client_with(org_a, "send").get("/api/v1/campaigns").status_code == 403


def test_import_with_a_mapping_through_the_api(org_a, funded):
    client = client_with(org_a, "send", "read")
    upload = SimpleUploadedFile("c.csv", contacts_csv(), content_type="text/csv")
    answer = client.post(
        "/api/v1/contacts/import",
        {"file": upload, "mapping": json.dumps(MAPPING), "group": "Imported", "tags": "vip"},
        format="multipart",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["created"], body["invalid"], body["duplicates_in_file"]) == (2, 1, 1)
    assert body["errors"][0]["row"] == 5
    bad = client.post(
        "/api/v1/contacts/import",
        {"file": SimpleUploadedFile("c.csv", contacts_csv()), "mapping": "{}"},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_mapping"


def test_campaign_draft_preview_confirm_and_counts(org_a, address_book, django_capture_on_commit_callbacks):
    client = client_with(org_a, "read", "send")
    group = address_book["group_a"].pk
    created = client.post(
        "/api/v1/campaigns",
        {"name": "Sale", "group_ids": [group], "template_id": address_book["template_a"].pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["status"] == "draft" and campaign["body"] == "Hi {name}!" and campaign["group_ids"] == [group]
    preview = client.get(f"/api/v1/campaigns/{campaign['id']}/preview").json()
    assert sorted(row["text"] for row in preview["rows"]) == ["Hi Ana Cruz!", "Hi Ben!"]
    assert preview["sendable"] == 2 and preview["price_total"] == "2.00"
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/api/v1/campaigns/{campaign['id']}/confirm", {}, format="json")
    assert confirmed.status_code == 202
    detail = client.get(f"/api/v1/campaigns/{campaign['id']}").json()
    assert detail["status"] == "sending" and detail["counts"]["queued"] == 2 and detail["recipients_total"] == 2
    log = client.get(f"/api/v1/messages?campaign={campaign['id']}").json()["results"]
    assert sorted(m["body"] for m in log) == ["Hi Ana Cruz!", "Hi Ben!"]
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/confirm").status_code == 409
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/cancel").status_code == 409


def test_scheduled_campaign_cancelled_through_the_api_is_refunded(
    org_a, address_book, django_capture_on_commit_callbacks
):
    client = client_with(org_a, "read", "send")
    send_at = (timezone.now() + timedelta(hours=3)).isoformat()
    body = {"name": "Later", "group_ids": [address_book["group_a"].pk], "body": "Hi {name}", "send_at": send_at}
    campaign = client.post("/api/v1/campaigns", body, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/campaigns/{campaign['id']}/confirm")
    assert client.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "scheduled"
    cancelled = client.post(f"/api/v1/campaigns/{campaign['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["counts"]["cancelled"] == 2
    statuses = Message.objects.for_organization(org_a).values_list("status", flat=True)
    assert set(statuses) == {MessageStatus.CANCELLED}
