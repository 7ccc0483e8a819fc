"""The send page fills `{name}` (and any contact field) from the contacts with the numbers typed; a number that
cannot fill a field is refused before anything is sent: `Hi {name}!` never goes out literally."""

import pytest
from django.urls import reverse

from messaging.contacts import services as contact_services
from messaging.models import Message


@pytest.fixture
def client_dev_a(login_as, developer_a, org_a):
    return login_as(developer_a, org_a)


def test_names_come_from_the_contacts(client_dev_a, org_a, funded):
    contact_services.contact_create(
        organization=org_a, phone_number="09171234567", name="Ana", fields={"city": "Makati"}
    )
    contact_services.contact_create(
        organization=org_a, phone_number="09181234567", name="Ben", fields={"city": "Pasig"}
    )
    response = client_dev_a.post(
        reverse("messaging:send"), {"recipients": "+639171234567, 0918 123 4567", "body": "Hi {name} of {City}!"}
    )
    assert response.status_code == 302
    assert sorted(m.body for m in Message.objects.for_organization(org_a)) == ["Hi Ana of Makati!", "Hi Ben of Pasig!"]


def test_a_number_that_cannot_fill_a_field_refuses_the_send(client_dev_a, org_a, org_b, funded):
    contact_services.contact_create(organization=org_a, phone_number="09171234567", name="Ana")
    contact_services.contact_create(organization=org_b, phone_number="09181234567", name="Theirs")
    response = client_dev_a.post(
        reverse("messaging:send"), {"recipients": "09171234567, 09181234567", "body": "Hi {name}!"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Merge fields cannot be filled for 1 number(s)" in html and "Not one of your contacts" in html
    assert Message.objects.for_organization(org_a).count() == 0


def test_text_without_merge_fields_is_sent_as_typed(client_dev_a, org_a, funded):
    response = client_dev_a.post(reverse("messaging:send"), {"recipients": "09171234567", "body": "Braces {} stay"})
    assert response.status_code == 302
    assert Message.objects.for_organization(org_a).get().body == "Braces {} stay"


def test_the_api_fills_names_from_the_contacts(api_client_a, org_a, funded):
    contact_services.contact_create(organization=org_a, phone_number="09171234567", name="Ana")
    response = api_client_a.post("/api/v1/messages", {"to": ["639171234567"], "body": "Hi {name}!"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["results"][0]["body"] == "Hi Ana!"


def test_the_api_refuses_a_text_a_recipient_cannot_fill(api_client_a, org_a, org_b, funded):
    """Another organization's contact fills nothing here: its name must not leak into this organization's text."""
    contact_services.contact_create(organization=org_a, phone_number="09171234567", name="Ana")
    contact_services.contact_create(organization=org_b, phone_number="09181234567", name="Theirs")
    response = api_client_a.post(
        "/api/v1/messages", {"to": ["09171234567", "09181234567"], "body": "Hi {name}!"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "merge_fields_unfilled"
    assert [(r["position"], r["input"]) for r in error["details"]["recipients"]] == [(2, "09181234567")]
    assert Message.objects.for_organization(org_a).count() == 0
