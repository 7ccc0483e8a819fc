"""GET /api/v1/receipts: newest first, cursor pages, issued_from/issued_to, bounded queries, per organization."""

from datetime import UTC, datetime
from decimal import Decimal

from freezegun import freeze_time

from billing.services import payment_record


def _paid(organization, day: int, amount: str):
    with freeze_time(datetime(2026, 11, day, 2, 0, tzinfo=UTC)):
        return payment_record(organization=organization, actor=None, method="gcash", amount_php=Decimal(amount))


def test_receipts_walk_in_pages_per_organization(org_a, org_b, scoped_client, django_assert_max_num_queries):
    for day in (3, 4, 5):
        _paid(org_a, day, f"{day}00.00")
    _paid(org_b, 6, "999.00")
    client = scoped_client(org_a, "billing")
    client.get("/api/v1/receipts")  # the key's last use is recorded once a minute
    with django_assert_max_num_queries(6):
        first = client.get("/api/v1/receipts?page_size=2").json()
    assert [r["amount_php"] for r in first["results"]] == ["500.00", "400.00"]
    second = client.get(first["next"]).json()
    assert [r["amount_php"] for r in second["results"]] == ["300.00"]
    assert second["next"] is None and second["next_cursor"] is None
    assert first["results"][0]["issued_at"].endswith("+08:00")
    recent = client.get("/api/v1/receipts?issued_from=2026-11-04").json()["results"]
    assert [r["amount_php"] for r in recent] == ["500.00", "400.00"]
    # B's key lists only B's receipt, and A's receipt number answers 404 to it.
    other = scoped_client(org_b, "billing")
    assert [r["amount_php"] for r in other.get("/api/v1/receipts").json()["results"]] == ["999.00"]
    assert other.get(f"/api/v1/billing/receipts/{first['results'][0]['number']}").status_code == 404
    assert scoped_client(org_a, "read").get("/api/v1/receipts").json()["error"]["code"] == "insufficient_scope"
    assert client.get("/api/v1/receipts?issued_to=soon").json()["error"]["code"] == "invalid_filter"
