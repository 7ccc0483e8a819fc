"""Billing dashboard pages: overview, threshold form (roles), statements + CSV, receipts; another org gets
404."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from billing.models import CreditAccount
from billing.selectors import billing_summary
from billing.services import (
    credit_account_settings_update,
    credits_adjust,
    message_charge,
    message_refund,
    payment_record,
)
from messaging.models import Message, MessageStatus, Provider
from tests.billing.helpers import fund

MANILA = ZoneInfo("Asia/Manila")


@pytest.fixture
def receipt_a(org_a):
    payment = payment_record(
        organization=org_a,
        actor=None,
        method="bank_transfer",
        amount_php=Decimal("1000.00"),
        reference="BDO-777",
    )
    return payment.receipt


def test_overview_shows_balance_usage_activity_and_top_ups(
    client_owner_a, org_a, receipt_a, django_assert_max_num_queries
):
    for message_id in range(1, 31):
        message_charge(organization=org_a, message_ids_and_segments=[(message_id, 1)])
    with django_assert_max_num_queries(15):
        response = client_owner_a.get("/billing/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "1970.00" in body  # 2000 credits bought at 0.50 PHP, 30 spent
    assert receipt_a.number in body
    assert 'id="threshold-form"' in body
    assert "Page 1 of 2" in body
    # A second page costs the same number of queries (no N+1 over entries).
    with django_assert_max_num_queries(15):
        assert client_owner_a.get("/billing/?page=2").status_code == 200


def test_viewer_and_developer_read_but_cannot_set_the_threshold(login_as, org_a, viewer_a, developer_a):
    for user in (viewer_a, developer_a):
        client = login_as(user, org_a)
        response = client.get("/billing/")
        assert response.status_code == 200
        assert 'id="threshold-form"' not in response.content.decode()
        assert 'id="threshold-readonly"' in response.content.decode()
        assert client.post("/billing/alert/", {"threshold": "5"}).status_code == 403
    assert not CreditAccount.objects.unscoped().filter(organization=org_a, low_balance_threshold__isnull=False).exists()


def test_admin_sets_and_clears_the_threshold(login_as, org_a, admin_a):
    client = login_as(admin_a, org_a)
    response = client.post("/billing/alert/", {"threshold": "50.00"}, follow=True)
    assert "below 50.00 credits" in response.content.decode()
    assert CreditAccount.objects.unscoped().get(organization=org_a).low_balance_threshold == Decimal("50.00")
    response = client.post("/billing/alert/", {"threshold": "-3"}, follow=True)
    assert "greater than or equal to 0" in response.content.decode()
    assert CreditAccount.objects.unscoped().get(organization=org_a).low_balance_threshold == Decimal("50.00")
    client.post("/billing/alert/", {"threshold": ""})
    assert CreditAccount.objects.unscoped().get(organization=org_a).low_balance_threshold is None


def test_pages_need_sign_in(client):
    for url in ("/billing/", "/billing/statements/", "/billing/receipts/", "/billing/statements/csv/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_receipt_list_and_printable_receipt(client_owner_a, receipt_a, django_assert_max_num_queries, org_a):
    for n in range(5):
        payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal(f"{n + 1}.00"))
    with django_assert_max_num_queries(12):
        listing = client_owner_a.get("/billing/receipts/")
    assert listing.status_code == 200
    assert listing.content.decode().count('href="/billing/receipts/R-') >= 6
    page = client_owner_a.get(f"/billing/receipts/{receipt_a.number}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "@media print" in body and receipt_a.number in body and "BDO-777" in body and "Alpha Retail" in body
    download = client_owner_a.get(f"/billing/receipts/{receipt_a.number}/?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="{receipt_a.number}.html"'


def test_another_organizations_receipt_is_404(client_owner_b, receipt_a):
    assert client_owner_b.get(f"/billing/receipts/{receipt_a.number}/").status_code == 404
    assert client_owner_b.get(f"/billing/receipts/{receipt_a.number}/?download=1").status_code == 404
    listing = client_owner_b.get("/billing/receipts/").content.decode()
    assert receipt_a.number not in listing
    overview = client_owner_b.get("/billing/").content.decode()
    assert receipt_a.number not in overview and "BDO-777" not in overview


def test_statement_figures_and_csv(client_owner_a, org_a, org_b):
    with freeze_time(datetime(2026, 10, 20, 12, 0, tzinfo=MANILA)):
        fund(org_a, "10.00")  # before the month: opening balance
    with freeze_time(datetime(2026, 11, 3, 9, 0, tzinfo=MANILA)):
        payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal("50.00"), reference="=cmd")
        message_charge(organization=org_a, message_ids_and_segments=[(1, 2), (2, 3)])
        message_refund(organization=org_a, message_id=2, reason="failed")
        credits_adjust(organization=org_a, actor=None, amount=Decimal("-1.50"), reason="correction")
    fund(org_b, "999.00")
    response = client_owner_a.get("/billing/statements/?month=2026-11")
    assert response.status_code == 200
    statement = response.context["statement"]
    assert statement.opening_balance == Decimal("10.00")
    assert statement.credits_topped_up == Decimal("100.00")
    assert statement.credits_charged == Decimal("5.00")
    assert statement.credits_refunded == Decimal("3.00")
    assert statement.closing_balance == Decimal("106.50")
    assert statement.opening_balance + statement.net_change == statement.closing_balance
    assert (statement.segments_charged, statement.segments_refunded) == (5, 3)

    csv_response = client_owner_a.get("/billing/statements/csv/?month=2026-11")
    assert csv_response["Content-Type"].startswith("text/csv")
    assert 'filename="statement-alpha-2026-11.csv"' in csv_response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
    summary = {row[0]: row[1] for row in rows if len(row) == 2}
    assert summary["Opening balance"] == "10.00"
    assert summary["Top-ups"] == "100.00"
    assert summary["Charged"] == "5.00"
    assert summary["Refunded"] == "3.00"
    assert summary["Adjustments"] == "-1.50"
    assert summary["Closing balance"] == "106.50"
    topup_rows = [row for row in rows if row and row[0].startswith("2026-11-03")]
    assert topup_rows and topup_rows[0][3] == "'=cmd"  # a formula-looking reference is neutralised
    # October: only the funding, nothing of November.
    october = client_owner_a.get("/billing/statements/?month=2026-10").context["statement"]
    assert october.closing_balance == Decimal("10.00") and october.credits_charged == 0


def test_statement_rejects_a_bad_month_clearly(client_owner_a):
    response = client_owner_a.get("/billing/statements/csv/?month=2026-13")
    assert response.status_code == 400
    assert "not a month" in response.content.decode()
    page = client_owner_a.get("/billing/statements/?month=nope", follow=True)
    assert page.status_code == 200
    assert "not a month" in page.content.decode()


def test_statement_is_scoped_to_the_organization(client_owner_b, org_a):
    fund(org_a, "500.00")
    response = client_owner_b.get("/billing/statements/")
    statement = response.context["statement"]
    assert statement.closing_balance == Decimal("0.00")
    assert "-0.00" not in response.content.decode()  # an empty month shows 0.00, never "-0.00" / "--0.00"
    assert statement.totals["adjustment"] == Decimal("0.00")


def test_statement_traffic_per_network_and_provider(client_owner_a, org_a, org_b):
    iprog = Provider.objects.create(name="IPROG", adapter="iprog", base_url="http://x.test", sender_name="ALPHA")
    sema = Provider.objects.create(name="Semaphore", adapter="semaphore", base_url="http://y.test", sender_name="A")

    def message(org, network, provider, segments, status, when):
        return Message(
            organization=org,
            recipient="+639171234567",
            network=network,
            body="hi",
            sender_name="ALPHA",
            encoding="gsm7",
            segments=segments,
            status=status,
            channel="api",
            provider=provider,
            created_at=when,
        )

    november = datetime(2026, 11, 10, 12, 0, tzinfo=MANILA)
    Message.objects.bulk_create(
        [
            message(org_a, "globe", iprog, 2, MessageStatus.DELIVERED, november),
            message(org_a, "globe", iprog, 1, MessageStatus.FAILED, november),
            message(org_a, "globe", sema, 3, MessageStatus.SENT, november),
            message(org_a, "smart", iprog, 1, MessageStatus.EXPIRED, november),
            message(org_a, "smart", None, 1, MessageStatus.QUEUED, november),
            message(org_a, "smart", iprog, 5, MessageStatus.REJECTED, november),  # never sent
            message(org_a, "smart", iprog, 7, MessageStatus.DELIVERED, datetime(2026, 12, 1, 0, 1, tzinfo=MANILA)),
            message(org_b, "globe", iprog, 9, MessageStatus.DELIVERED, november),  # another organization
        ]
    )
    traffic = client_owner_a.get("/billing/statements/?month=2026-11").context["statement"].traffic
    assert traffic == [
        {
            "network": "globe",
            "provider": "IPROG",
            "messages": 2,
            "segments": 3,
            "failed_segments": 1,
            "billable_segments": 2,
        },
        {
            "network": "globe",
            "provider": "Semaphore",
            "messages": 1,
            "segments": 3,
            "failed_segments": 0,
            "billable_segments": 3,
        },
        {
            "network": "smart",
            "provider": "(not yet routed)",
            "messages": 1,
            "segments": 1,
            "failed_segments": 0,
            "billable_segments": 1,
        },
        {
            "network": "smart",
            "provider": "IPROG",
            "messages": 1,
            "segments": 1,
            "failed_segments": 0,
            "billable_segments": 1,
        },
    ]
    rows = list(csv.reader(io.StringIO(client_owner_a.get("/billing/statements/csv/?month=2026-11").content.decode())))
    assert ["globe", "Semaphore", "1", "3", "0", "3"] in rows


def test_billing_summary_for_the_dashboard(org_a):
    assert billing_summary(organization=org_a)["balance"] == Decimal("0.00")
    fund(org_a, "10.00")
    credit_account_settings_update(
        organization=org_a,
        actor=None,
        price_plan=None,
        monthly_segment_limit=8,
        low_balance_threshold=Decimal("9"),
    )
    message_charge(organization=org_a, message_ids_and_segments=[(1, 2)])
    assert billing_summary(organization=org_a) == {
        "balance": Decimal("8.00"),
        "used_this_month": 2,
        "monthly_limit": 8,
        "usage_percent": 25,
        "low_balance": True,
    }


def test_statement_page_query_count_does_not_grow_with_top_ups(client_owner_a, org_a, django_assert_max_num_queries):
    for n in range(12):
        payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal(f"{n + 1}.00"))
    with django_assert_max_num_queries(14):
        response = client_owner_a.get("/billing/statements/")
    assert response.status_code == 200
    assert len(response.context["statement"].topups) == 12
    with django_assert_max_num_queries(14):
        assert client_owner_a.get("/billing/statements/csv/").status_code == 200
