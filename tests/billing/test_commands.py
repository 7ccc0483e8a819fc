"""billing_audit and credits_adjust management commands, and the billing admin (payments exactly once,
adjustments need a reason, the ledger is read-only)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import base, call_command, execute_from_command_line
from django.core.management.base import CommandError

from accounts.models import AuditLog
from billing.models import (
    CreditAccount,
    LedgerEntry,
    LedgerEntryKind,
    Payment,
    PaymentStatus,
    PricePlan,
)
from billing.periodic import SCHEDULE
from billing.selectors import balance_get
from billing.services import message_charge, payment_record
from billing.tasks import billing_audit_run
from tests.billing.helpers import assert_ledger_invariant, fund
from tests.conftest import make_user


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- billing_audit ---


def test_audit_passes_on_a_consistent_ledger(org_a, org_b):
    fund(org_a, "10.00")
    message_charge(organization=org_a, message_ids_and_segments=[(1, 3)])
    payment_record(organization=org_b, actor=None, method="gcash", amount_php=Decimal("5.00"))
    out, _ = run("billing_audit")
    assert "billing audit passed" in out


def test_audit_prints_every_difference_and_fails(org_a, org_b):
    fund(org_a, "10.00")
    fund(org_b, "20.00")
    # Tamper behind the services' back: a balance edited by hand, and an entry's balance_after broken.
    CreditAccount.objects.unscoped().filter(organization=org_a).update(balance=Decimal("12.00"))
    LedgerEntry.objects.unscoped().filter(organization=org_b).update(balance_after=Decimal("19.00"))
    with pytest.raises(CommandError, match="difference"):
        run("billing_audit")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("billing_audit", stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert any("alpha: balance 12.00 != ledger sum 10.00" in line for line in lines)
    assert any("bravo: last entry's balance_after 19.00 != ledger sum 20.00" in line for line in lines)
    assert any("bravo: entry" in line and "sum to 20.00" in line for line in lines)


def test_audit_catches_a_lost_entry_and_wrong_usage(org_a):
    fund(org_a, "10.00")
    message_charge(organization=org_a, message_ids_and_segments=[(1, 2), (2, 2)])
    LedgerEntry.objects.unscoped().filter(message_id=1).delete()
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("billing_audit", stdout=StringIO(), stderr=err)
    text = err.getvalue()
    assert "alpha: balance 6.00 != ledger sum 8.00" in text
    assert "usage this month 4 segments != ledger 2 segments" in text


# --- credits_adjust ---


def test_credits_adjust_adds_and_removes_through_the_ledger(org_a):
    out, _ = run("credits_adjust", "alpha", "500", "--reason", "welcome bonus")
    assert "balance now 500.00" in out
    run("credits_adjust", "alpha", "-12.50", "--reason", "correction")
    assert balance_get(organization=org_a) == Decimal("487.50")
    entry = LedgerEntry.objects.unscoped().filter(organization=org_a).order_by("-id").first()
    assert entry.kind == LedgerEntryKind.ADJUSTMENT and entry.reason == "correction"
    assert AuditLog.objects.unscoped().filter(event_type="billing.credits_adjusted", organization=org_a).count() == 2
    assert_ledger_invariant(org_a)


def test_credits_adjust_refuses_to_overdraw_unknown_orgs_and_bad_input(org_a):
    fund(org_a, "5.00")
    with pytest.raises(CommandError, match=r"balance of alpha is 5.00 credits; removing 5.01 credits would overdraw"):
        run("credits_adjust", "alpha", "-5.01", "--reason", "too much")
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        run("credits_adjust", "nope", "5", "--reason", "x")
    with pytest.raises(CommandError, match="not a number"):
        run("credits_adjust", "alpha", "five", "--reason", "x")
    with pytest.raises(CommandError, match="needs a reason"):
        run("credits_adjust", "alpha", "5", "--reason", " ")
    with pytest.raises(CommandError, match="at most two decimals"):
        run("credits_adjust", "alpha", "1.001", "--reason", "x")
    assert balance_get(organization=org_a) == Decimal("5.00")
    assert LedgerEntry.objects.unscoped().filter(organization=org_a).count() == 1


def test_credits_adjust_exit_status_is_non_zero(org_a, capsys, monkeypatch):
    """Through the command-line entry point, as an operator runs it (in-process, so on the test database)."""
    # run_from_argv closes every connection when it ends; that would end the test's transaction.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    fund(org_a, "1.00")
    for argv, message in (
        (["manage.py", "credits_adjust", "no-such-org", "5", "--reason", "x"], "No organization with slug"),
        (["manage.py", "credits_adjust", "alpha", "-2", "--reason", "x"], "would overdraw"),
    ):
        with pytest.raises(SystemExit) as exited:
            execute_from_command_line(argv)
        assert exited.value.code == 1
        assert message in capsys.readouterr().err
    execute_from_command_line(["manage.py", "billing_audit"])  # success returns normally: exit status 0
    assert "billing audit passed" in capsys.readouterr().out


# --- admin ---


@pytest.fixture
def staff_client(client, db):
    staff = make_user("staff@sms-portal.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_admin_payment_add_credits_once_and_saving_again_adds_nothing(staff_client, org_a):
    response = staff_client.post(
        "/admin/billing/payment/add/",
        {
            "organization": org_a.id,
            "method": "gcash",
            "amount_php": "100.00",
            "credits": "",
            "reference": "GC-9",
            "notes": "",
            "confirm_now": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    payment = Payment.objects.unscoped().get(reference="GC-9")
    assert payment.status == PaymentStatus.CONFIRMED and payment.credits == Decimal("200.00")
    assert payment.receipt.number.startswith("R-")
    assert balance_get(organization=org_a) == Decimal("200.00")
    # Saving the change form again (or re-posting) never adds a second top-up.
    for _ in range(2):
        saved = staff_client.post(f"/admin/billing/payment/{payment.id}/change/", {"_save": "Save"})
        assert saved.status_code == 302
    change_page = staff_client.get(f"/admin/billing/payment/{payment.id}/change/")
    assert change_page.status_code == 200 and payment.receipt.number in change_page.content.decode()
    assert balance_get(organization=org_a) == Decimal("200.00")
    assert LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.TOPUP).count() == 1
    assert_ledger_invariant(org_a)


def test_admin_pending_payment_then_confirm_action(staff_client, org_a):
    staff_client.post(
        "/admin/billing/payment/add/",
        {
            "organization": org_a.id,
            "method": "bank_transfer",
            "amount_php": "50.00",
            "credits": "120",
            "reference": "B1",
            "notes": "",
        },
    )
    payment = Payment.objects.unscoped().get(reference="B1")
    assert payment.status == PaymentStatus.PENDING
    assert balance_get(organization=org_a) == Decimal("0.00")
    for _ in range(2):  # the action run twice confirms once
        staff_client.post("/admin/billing/payment/", {"action": "confirm_selected", "_selected_action": [payment.id]})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert balance_get(organization=org_a) == Decimal("120.00")


def test_admin_payment_add_refuses_bad_amounts(staff_client, org_a):
    response = staff_client.post(
        "/admin/billing/payment/add/",
        {
            "organization": org_a.id,
            "method": "gcash",
            "amount_php": "-5",
            "reference": "neg",
            "confirm_now": "on",
        },
    )
    assert response.status_code == 200  # the form again, with an error
    assert not Payment.objects.unscoped().filter(reference="neg").exists()


def test_admin_adjustment_requires_a_reason_and_cannot_overdraw(staff_client, org_a):
    fund(org_a, "10.00")
    account = CreditAccount.objects.unscoped().get(organization=org_a)
    url = f"/admin/billing/creditaccount/{account.id}/adjust/"
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"amount": "5", "reason": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = staff_client.post(url, {"amount": "-11", "reason": "too much"})
    assert "would overdraw" in response.content.decode()
    response = staff_client.post(url, {"amount": "-4", "reason": "duplicate SMS"})
    assert response.status_code == 302
    assert balance_get(organization=org_a) == Decimal("6.00")
    assert (
        LedgerEntry.objects.unscoped().filter(reason="duplicate SMS", actor__email="staff@sms-portal.example").exists()
    )


def test_admin_ledger_is_read_only_and_searchable(staff_client, org_a):
    fund(org_a, "10.00")
    message_charge(organization=org_a, message_ids_and_segments=[(4242, 1)])
    entry = LedgerEntry.objects.unscoped().get(message_id=4242)
    assert staff_client.get("/admin/billing/ledgerentry/add/").status_code == 403
    assert staff_client.get(f"/admin/billing/ledgerentry/{entry.id}/delete/").status_code == 403
    staff_client.post(f"/admin/billing/ledgerentry/{entry.id}/change/", {"amount": "100"})
    entry.refresh_from_db()
    assert entry.amount == Decimal("-1.00")
    listing = staff_client.get("/admin/billing/ledgerentry/?q=4242&kind__exact=charge")
    assert listing.status_code == 200 and "4242" in listing.content.decode()
    assert staff_client.get("/admin/billing/ledgerentry/?q=alpha").status_code == 200


def test_admin_price_plan_default_and_account_settings(staff_client, org_a):
    plan = PricePlan.objects.create(name="Promo", price_per_segment=Decimal("0.8000"))
    staff_client.post("/admin/billing/priceplan/", {"action": "make_default", "_selected_action": [plan.id]})
    assert list(PricePlan.objects.filter(is_default=True).values_list("name", flat=True)) == ["Promo"]
    response = staff_client.post(
        "/admin/billing/creditaccount/add/",
        {
            "organization": org_a.id,
            "price_plan": "",
            "monthly_segment_limit": "5000",
            "low_balance_threshold": "",
        },
    )
    assert response.status_code == 302
    account = CreditAccount.objects.unscoped().get(organization=org_a)
    assert account.monthly_segment_limit == 5000
    assert (
        AuditLog.objects.unscoped().filter(event_type="billing.account_settings_changed", organization=org_a).exists()
    )


def test_periodic_audit_task_mails_staff_only_on_a_difference(org_a, settings):
    assert ("billing.tasks.billing_audit_run", 86400) in SCHEDULE
    settings.OPS_ALERT_EMAILS = ["ops@example.test"]
    fund(org_a, "3.00")
    assert billing_audit_run.call() == 0
    assert mail.outbox == []
    CreditAccount.objects.unscoped().filter(organization=org_a).update(balance=Decimal("4.00"))
    assert billing_audit_run.call() == 1
    assert mail.outbox[0].to == ["ops@example.test"]
    assert "alpha: balance 4.00 != ledger sum 3.00" in mail.outbox[0].body


def test_admin_pages_render(staff_client, org_a, django_assert_max_num_queries):
    fund(org_a, "30.00")
    for i in range(20):
        message_charge(organization=org_a, message_ids_and_segments=[(100 + i, 1)])
    payment = payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal("5.00"))
    account = CreditAccount.objects.unscoped().get(organization=org_a)
    for url in (
        "/admin/billing/priceplan/",
        "/admin/billing/priceplan/add/",
        "/admin/billing/creditaccount/",
        "/admin/billing/creditaccount/add/",
        f"/admin/billing/creditaccount/{account.id}/change/",
        "/admin/billing/payment/",
        "/admin/billing/payment/add/",
        f"/admin/billing/payment/{payment.id}/change/",
        "/admin/billing/receipt/",
        f"/admin/billing/receipt/{payment.receipt.id}/change/",
        f"/admin/billing/ledgerentry/{LedgerEntry.objects.unscoped().first().id}/change/",
    ):
        assert staff_client.get(url).status_code == 200, url
    with django_assert_max_num_queries(12):
        assert staff_client.get("/admin/billing/ledgerentry/").status_code == 200
