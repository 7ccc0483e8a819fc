"""Billing API: balance/usage, ledger, payments, receipts; tenant isolation (404) and role checks."""

from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from billing.services import credit_account_settings_update, message_charge, payment_record
from tests.billing.helpers import fund


@pytest.fixture
def billed_a(org_a):
    fund(org_a, "100.00")
    payment = payment_record(
        organization=org_a, actor=None, method="gcash", amount_php=Decimal("25.00"), reference="GC1"
    )
    message_charge(organization=org_a, message_ids_and_segments=[(11, 2), (12, 1)])
    credit_account_settings_update(
        organization=org_a,
        actor=None,
        price_plan=None,
        monthly_segment_limit=1000,
        low_balance_threshold=None,
    )
    return payment


def test_balance_shape(api_client_a, billed_a):
    response = api_client_a.get("/api/v1/balance")
    assert response.status_code == 200
    assert response.json() == {
        "balance": "147.00",
        "currency": "credits",
        "monthly_limit": 1000,
        "used_this_month": 3,
        "price_per_segment": "1.0000",
    }


def test_balance_of_a_new_organization_is_zero_without_limit(api_client_b):
    response = api_client_b.get("/api/v1/balance")
    assert response.json()["balance"] == "0.00"
    assert response.json()["monthly_limit"] is None
    assert response.json()["used_this_month"] == 0


def test_balance_is_per_organization(api_client_a, api_client_b, billed_a):
    assert api_client_b.get("/api/v1/balance").json()["balance"] == "0.00"
    assert api_client_a.get("/api/v1/balance").json()["balance"] == "147.00"


def test_balance_needs_credentials_and_is_read_only(client, api_client_a, billed_a):
    assert client.get("/api/v1/balance").status_code in (401, 403)
    response = api_client_a.post("/api/v1/balance", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_balance_by_session_for_a_viewer(login_as, viewer_a, org_a, billed_a):
    client = login_as(viewer_a, org_a)
    response = client.get("/api/v1/balance")
    assert response.status_code == 200
    assert response.json()["balance"] == "147.00"


def test_ledger_list_keyset_pages(api_client_a, billed_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        first = api_client_a.get("/api/v1/billing/ledger?limit=2").json()
    assert [row["kind"] for row in first["results"]] == ["charge", "charge"]
    assert first["results"][0]["message_id"] == 12
    assert first["next"] == f"http://testserver/api/v1/billing/ledger?limit=2&before={first['next_before']}"
    second = api_client_a.get(first["next"]).json()
    assert [row["kind"] for row in second["results"]] == ["topup", "adjustment"]
    assert second["next_before"] is None and second["next"] is None
    charges = api_client_a.get("/api/v1/billing/ledger?kind=charge").json()["results"]
    assert {row["amount"] for row in charges} == {"-2.00", "-1.00"}


def test_ledger_list_bad_pagination_is_a_clear_400(api_client_a):
    response = api_client_a.get("/api/v1/billing/ledger?limit=5000")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_pagination"
    assert api_client_a.get("/api/v1/billing/ledger?before=abc").status_code == 400


def test_other_organizations_ledger_payment_and_receipt_are_404(api_client_a, api_client_b, billed_a):
    entry = LedgerEntry.objects.unscoped().filter(organization=billed_a.organization).first()
    receipt_number = billed_a.receipt.number
    assert api_client_a.get(f"/api/v1/billing/ledger/{entry.id}").status_code == 200
    assert api_client_a.get(f"/api/v1/billing/payments/{billed_a.id}").json()["receipt_number"] == receipt_number
    assert api_client_a.get(f"/api/v1/billing/receipts/{receipt_number}").json()["credits"] == "50.00"
    for url in (
        f"/api/v1/billing/ledger/{entry.id}",
        f"/api/v1/billing/payments/{billed_a.id}",
        f"/api/v1/billing/receipts/{receipt_number}",
    ):
        response = api_client_b.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    # Indistinguishable from ids that do not exist at all.
    assert (
        api_client_b.get("/api/v1/billing/ledger/999999").json()
        == api_client_b.get(f"/api/v1/billing/ledger/{entry.id}").json()
    )
    assert api_client_b.get("/api/v1/billing/ledger").json()["results"] == []
    assert api_client_b.get("/api/v1/billing/payments").json()["results"] == []


def test_payment_list(api_client_a, billed_a, django_assert_max_num_queries):
    payment_record(organization=billed_a.organization, actor=None, method="card", amount_php=Decimal("5.00"))
    with django_assert_max_num_queries(8):
        results = api_client_a.get("/api/v1/billing/payments").json()["results"]
    assert [row["method"] for row in results] == ["card", "gcash"]
    assert all(row["status"] == "confirmed" and row["receipt_number"] for row in results)


def test_session_of_another_organization_gets_404_too(client_owner_b, billed_a):
    entry = LedgerEntry.objects.unscoped().filter(organization=billed_a.organization).first()
    assert client_owner_b.get(f"/api/v1/billing/ledger/{entry.id}").status_code == 404
    assert client_owner_b.get(f"/api/v1/billing/payments/{billed_a.id}").status_code == 404
    assert client_owner_b.get(f"/api/v1/billing/receipts/{billed_a.receipt.number}").status_code == 404
    assert client_owner_b.get("/api/v1/balance").json()["balance"] == "0.00"
