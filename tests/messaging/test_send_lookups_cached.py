"""The send path's cached look-ups: the API key (dropped when revoked) and the enabled routes (dropped when a
provider changes), so a busy key sends without reading them again, and a change is seen at once."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import APIKey, AuditLog
from accounts.services import api_key_revoke
from billing.models import LedgerEntry
from billing.services import credits_adjust
from messaging.models import Provider
from messaging.provider_chain import enabled_chain
from messaging.services.sending import message_send

pytestmark = pytest.mark.django_db


def _provider(name: str, priority: int, sender_name: str) -> Provider:
    return Provider.objects.create(
        name=name,
        adapter="semaphore",
        base_url="http://127.0.0.1:9",
        credentials=json.dumps({"api_key": "k"}),
        sender_name=sender_name,
        priority=priority,
    )


def test_the_enabled_chain_is_read_once_and_dropped_when_a_provider_changes():
    first = _provider("First", 1, "FIRST")
    _provider("Second", 2, "SECOND")
    assert [route.sender_name for route in enabled_chain()] == ["FIRST", "SECOND"]
    with CaptureQueriesContext(connection) as queries:
        assert [route.pk for route in enabled_chain()][0] == first.pk
    assert len(queries.captured_queries) == 0
    first.enabled = False
    first.save()
    assert [route.sender_name for route in enabled_chain()] == ["SECOND"]
    Provider.objects.filter(pk=first.pk).delete()
    assert [route.sender_name for route in enabled_chain()] == ["SECOND"]


def test_a_cached_key_sends_without_reading_it_and_a_revoked_key_is_refused_at_once(
    org_a, org_b, developer_a, api_key_a, api_client_a, api_client_b, django_capture_on_commit_callbacks
):
    _provider("Route", 1, "ROUTE")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10.00"), reason="test")
    payload = {"to": "09171234567", "body": "Hello"}
    assert api_client_a.post("/api/v1/messages", payload, format="json").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert api_client_a.post("/api/v1/messages", payload, format="json").status_code == 201
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "accounts_apikey" not in sql and "messaging_provider" not in sql
    # The other organization's key answers for its own organization only: it cannot see org A's messages.
    message_id = api_client_a.get("/api/v1/messages").json()["results"][0]["id"]
    assert api_client_b.get(f"/api/v1/messages/{message_id}").status_code == 404
    key = APIKey.objects.unscoped().get(pk=api_key_a[0].pk)
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(organization=org_a, actor=developer_a, api_key_id=key.pk)
    response = api_client_a.post("/api/v1/messages", payload, format="json")
    assert response.status_code == 401


def test_an_api_send_leaves_no_audit_row_a_dashboard_send_does(org_a, owner_a):
    _provider("Route", 1, "ROUTE")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10.00"), reason="test")
    api_message = message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0]
    sent = AuditLog.objects.filter(organization=org_a, event_type="message.sent")
    assert not sent.exists()
    # The ledger and the message row still say what happened: one charge naming the message.
    assert LedgerEntry.objects.unscoped().filter(organization=org_a, message_id=api_message.pk, kind="charge").exists()
    message_send(organization=org_a, actor=owner_a, recipients=["09171234568"], body="Hi", channel="dashboard")
    assert sent.count() == 1


def test_the_default_sender_name_is_read_once_and_dropped_when_a_sender_name_changes(org_a):
    from messaging.models_sender import SenderName, SenderNameStatus

    _provider("Route", 1, "ROUTE")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10.00"), reason="test")
    name = SenderName.objects.create(organization=org_a, name="SHOP", status=SenderNameStatus.APPROVED, is_default=True)
    assert message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0].sender_name == (
        "SHOP"
    )
    with CaptureQueriesContext(connection) as queries:
        message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")
    assert "messaging_sendername" not in " ".join(q["sql"] for q in queries.captured_queries)
    name.is_default = False
    name.save()
    sent = message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0]
    assert sent.sender_name == "ROUTE"


def test_the_default_price_plan_is_read_once_and_dropped_when_a_plan_changes(org_a):
    from billing.models import PricePlan
    from billing.price_plans import price_plan_make_default

    _provider("Route", 1, "ROUTE")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test")
    plan = PricePlan.objects.create(name="Cache test", price_per_segment=Decimal("0.50"))
    price_plan_make_default(plan=plan, actor=None)
    assert message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0].price == (
        Decimal("0.50")
    )
    with CaptureQueriesContext(connection) as queries:
        message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")
    # The credit account's SELECT joins the organization's own plan; the default plan is not read again.
    assert 'FROM "accounts_priceplan"' not in " ".join(q["sql"] for q in queries.captured_queries)
    plan.price_per_segment = Decimal("0.70")
    plan.save()
    assert message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0].price == (
        Decimal("0.70")
    )
    cheaper = PricePlan.objects.create(name="Cache test cheaper", price_per_segment=Decimal("0.30"))
    price_plan_make_default(plan=cheaper, actor=None)
    sent = message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0]
    assert sent.price == Decimal("0.30")
    charge = LedgerEntry.objects.unscoped().get(organization=org_a, message_id=sent.pk, kind="charge")
    assert charge.amount == Decimal("-0.30")


def test_a_plan_assigned_elsewhere_is_charged_at_once_although_the_cached_one_was_older(org_a):
    from billing.models import CreditAccount, PricePlan

    _provider("Route", 1, "ROUTE")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test")
    assert message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0].price == (
        Decimal("1.00")
    )
    # Another process assigns a plan: no signal reaches this one, whose cache still holds the default plan.
    special = PricePlan.objects.create(name="Cache test special", price_per_segment=Decimal("0.25"))
    CreditAccount.objects.unscoped().filter(organization=org_a).update(price_plan=special)
    sent = message_send(organization=org_a, recipients=["09171234567"], body="Hi", channel="api")[0]
    assert sent.price == Decimal("0.25")
    sent.refresh_from_db()
    assert sent.price == Decimal("0.25")
    charge = LedgerEntry.objects.unscoped().get(organization=org_a, message_id=sent.pk, kind="charge")
    assert charge.amount == Decimal("-0.25")
    assert CreditAccount.objects.unscoped().get(organization=org_a).balance == Decimal("98.75")
