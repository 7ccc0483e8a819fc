"""Sender names: request, staff approval or rejection with a reason, default, and only approved names on
messages (`sender_name_not_approved`); the dashboard page and the native API."""

from decimal import Decimal

import pytest

from billing.services import credits_adjust
from messaging.models import Provider, SenderName, SenderNameStatus
from messaging.sender_names import (
    sender_name_approve,
    sender_name_choose,
    sender_name_reject,
    sender_name_request,
)
from portal.errors import ApplicationError, Conflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def route(db):
    return Provider.objects.create(name="IPROG", adapter="iprog", base_url="http://127.0.0.1:9", sender_name="IPROGSMS")


@pytest.mark.parametrize("name", ["", "TWELVE CHARS", "BAD-NAME", "émoji"])
def test_invalid_names_are_refused(org_a, name):
    with pytest.raises(ApplicationError) as error:
        sender_name_request(organization=org_a, name=name)
    assert error.value.code == "invalid_sender_name"


def test_request_approve_reject_and_default(org_a, org_b, route):
    shop = sender_name_request(organization=org_a, name="MY SHOP 1")
    assert shop.status == SenderNameStatus.PENDING
    with pytest.raises(Conflict):
        sender_name_request(organization=org_a, name="my shop 1")
    with pytest.raises(ApplicationError) as error:
        sender_name_choose(organization=org_a, requested="MY SHOP 1", route_names={"IPROGSMS"})
    assert error.value.code == "sender_name_not_approved"
    sender_name_approve(sender_name=shop, actor=None)
    shop.refresh_from_db()
    assert shop.is_default
    assert sender_name_choose(organization=org_a, requested=None, route_names={"IPROGSMS"}) == "MY SHOP 1"
    assert sender_name_choose(organization=org_a, requested="IPROGSMS", route_names={"IPROGSMS"}) == "IPROGSMS"
    assert sender_name_choose(organization=org_b, requested=None, route_names={"IPROGSMS"}) == ""
    with pytest.raises(ApplicationError):
        sender_name_choose(organization=org_b, requested="MY SHOP 1", route_names={"IPROGSMS"})
    spam = sender_name_request(organization=org_a, name="FREEMONEY")
    with pytest.raises(ApplicationError):
        sender_name_reject(sender_name=spam, actor=None, reason=" ")
    sender_name_reject(sender_name=spam, actor=None, reason="Misleading name")
    spam.refresh_from_db()
    assert spam.status == SenderNameStatus.REJECTED and spam.reason == "Misleading name"


def test_api_lists_and_requests_per_organization(org_a, route, api_client_a, api_client_b):
    created = api_client_a.post("/api/v1/sender-names", {"name": "ALPHA", "purpose": "Orders"}, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    assert [n["name"] for n in api_client_a.get("/api/v1/sender-names").json()["sender_names"]] == ["ALPHA"]
    assert api_client_b.get("/api/v1/sender-names").json() == {"sender_names": []}
    bad = api_client_a.post("/api/v1/sender-names", {"name": "WAY TOO LONG NAME"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_sender_name"


def test_native_send_refuses_unapproved_names(org_a, route, api_client_a):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100"), reason="test")
    response = api_client_a.post(
        "/api/v1/messages", {"to": "09171234567", "body": "Hi", "sender_name": "ALPHA"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "sender_name_not_approved"


def test_dashboard_page(client_owner_a, login_as, viewer_a, org_a):
    page = client_owner_a.get("/sender-names/")
    assert page.status_code == 200
    client_owner_a.post("/sender-names/", {"action": "request", "name": "ALPHA"})
    assert SenderName.objects.filter(organization=org_a, name="ALPHA").exists()
    viewer = login_as(viewer_a, org_a)
    assert viewer.get("/sender-names/").status_code == 200
    assert viewer.post("/sender-names/", {"action": "request", "name": "BETA"}).status_code == 403


def test_staff_reject_in_admin_needs_a_reason(org_a, admin_client):
    requested = sender_name_request(organization=org_a, name="ALPHA")
    url = f"/admin/messaging/sendername/{requested.pk}/change/"
    admin_client.post(url, {"reason": "", "decision": "rejected"})
    requested.refresh_from_db()
    assert requested.status == SenderNameStatus.PENDING
    admin_client.post(url, {"reason": "Not your brand", "decision": "rejected"})
    requested.refresh_from_db()
    assert requested.status == SenderNameStatus.REJECTED and requested.reason == "Not your brand"
