"""Staff find a message in admin by its number in any form people type it, or by its organization's name."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.services import credits_adjust
from messaging.services.sending import message_send
from tests.conftest import make_user


@pytest.fixture
def staff_client(client, db):
    client.force_login(make_user("ops@operator.example", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def messages_of_both(org_a, org_b, owner_a, owner_b, offline_chain):
    for organization, owner, number in ((org_a, owner_a, "09171234567"), (org_b, owner_b, "09281112222")):
        credits_adjust(organization=organization, actor=None, amount=Decimal("10.00"), reason="test")
        message_send(organization=organization, actor=owner, recipients=[number], body="Hello", channel="dashboard")


def search(client, term):
    response = client.get(reverse("admin:messaging_message_changelist"), {"q": term})
    assert response.status_code == 200
    return {row.organization.name for row in response.context["cl"].result_list}


@pytest.mark.parametrize("term", ["09171234567", "+639171234567", "639171234567", "0917 123 4567"])
def test_any_form_of_the_number_finds_the_message(staff_client, messages_of_both, term):
    assert search(staff_client, term) == {"Alpha Retail"}


def test_organization_name_finds_its_messages(staff_client, messages_of_both):
    assert search(staff_client, "bravo") == {"Bravo Clinic"}
    assert search(staff_client, "Alpha Retail") == {"Alpha Retail"}
    assert search(staff_client, "no such organization") == set()
