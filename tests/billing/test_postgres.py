"""Concurrency on PostgreSQL: real row locks, one connection per thread.

Run with e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/sms_billing_test; skipped on SQLite (no row
locks). At most CONCURRENT_CONNECTIONS threads hold a connection at once so the suite fits PostgreSQL's
default max_connections (100) alongside other test runs; all of them contend for the same CreditAccount row.
"""

import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, connections, transaction

from billing.errors import InsufficientCredits, MonthlyLimitReached
from billing.models import LedgerEntry, LedgerEntryKind, PricePlan
from billing.selectors import balance_get, monthly_usage
from billing.services import (
    credit_account_settings_update,
    message_charge,
    message_refund,
    payment_confirm,
    payment_record,
)
from tests.billing.helpers import assert_ledger_invariant, fund

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONCURRENT_CONNECTIONS = 25


def run_in_threads(count: int, work) -> list:
    """Run work(i) in `count` threads, each on its own connection; returns each outcome or exception."""
    outcomes: list = [None] * count
    gate = threading.Semaphore(CONCURRENT_CONNECTIONS)
    start = threading.Event()

    def target(i: int) -> None:
        start.wait()
        with gate:
            try:
                outcomes[i] = work(i)
            except Exception as exc:  # collected and asserted on by the test
                outcomes[i] = exc
            finally:
                connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    close_old_connections()
    return outcomes


def test_100_concurrent_charges_against_a_balance_for_37(org_a):
    assert connection.vendor == "postgresql"
    plan = PricePlan.objects.create(name="Concurrency", price_per_segment=Decimal("0.7500"))
    credit_account_settings_update(
        organization=org_a,
        actor=None,
        price_plan=plan,
        monthly_segment_limit=None,
        low_balance_threshold=None,
    )
    fund(org_a, "55.50")  # 37 messages x 2 segments x 0.75

    def charge(i: int):
        with transaction.atomic():  # the caller's transaction, as in the messaging engine
            return message_charge(organization=org_a, message_ids_and_segments=[(10_000 + i, 2)])

    outcomes = run_in_threads(100, charge)
    succeeded = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if isinstance(o, InsufficientCredits)]
    unexpected = [o for o in outcomes if not isinstance(o, dict | InsufficientCredits)]
    assert unexpected == []
    assert len(succeeded) == 37
    assert len(refused) == 63
    assert all("the balance is 0.00 credits and this send costs 1.50 credits" in e.message for e in refused)
    assert balance_get(organization=org_a) == Decimal("0.00")
    charges = LedgerEntry.objects.unscoped().filter(organization=org_a, kind=LedgerEntryKind.CHARGE)
    assert charges.count() == 37
    assert not LedgerEntry.objects.unscoped().filter(balance_after__lt=0).exists()
    assert sorted(charges.values_list("balance_after", flat=True)) == [Decimal("1.50") * n for n in range(37)]
    assert_ledger_invariant(org_a)
    out = StringIO()
    call_command("billing_audit", stdout=out, stderr=StringIO())
    assert "billing audit passed" in out.getvalue()


def test_concurrent_refunds_of_one_message_refund_once(org_a):
    fund(org_a, "10.00")
    with transaction.atomic():  # as message_send does: the charge joins the transaction that stores the message
        message_charge(organization=org_a, message_ids_and_segments=[(777, 3)])

    def refund(i: int):
        with transaction.atomic():
            return message_refund(organization=org_a, message_id=777, reason=f"callback {i}")

    outcomes = run_in_threads(20, refund)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert sum(1 for o in outcomes if isinstance(o, LedgerEntry)) == 1
    assert LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.REFUND, message_id=777).count() == 1
    assert balance_get(organization=org_a) == Decimal("10.00")
    assert_ledger_invariant(org_a)


def test_concurrent_confirmations_of_one_payment_add_credits_once(org_a):
    payment = payment_record(
        organization=org_a, actor=None, method="gcash", amount_php=Decimal("100.00"), confirm=False
    )
    outcomes = run_in_threads(20, lambda i: payment_confirm(payment_id=payment.id, actor=None))
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.TOPUP).count() == 1
    assert balance_get(organization=org_a) == Decimal("200.00")
    assert_ledger_invariant(org_a)


def test_concurrent_top_ups_and_charges_keep_the_chain(org_a, org_b):
    fund(org_a, "20.00")

    def mixed(i: int):
        if i % 4 == 0:
            return payment_record(organization=org_a, actor=None, method="card", amount_php=Decimal("1.00"))
        with transaction.atomic():
            return message_charge(organization=org_a, message_ids_and_segments=[(20_000 + i, 1)])

    outcomes = run_in_threads(60, mixed)
    assert [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, InsufficientCredits)] == []
    receipts = sorted(o.receipt.sequence for o in outcomes if hasattr(o, "receipt"))
    assert receipts == list(range(1, 16))  # sequential, no gaps, no duplicates
    assert_ledger_invariant(org_a)


def test_concurrent_sends_never_pass_the_monthly_limit(org_a):
    fund(org_a, "1000.00")
    credit_account_settings_update(
        organization=org_a, actor=None, price_plan=None, monthly_segment_limit=10, low_balance_threshold=None
    )

    def charge(i: int):
        with transaction.atomic():
            return message_charge(organization=org_a, message_ids_and_segments=[(30_000 + i, 1)])

    outcomes = run_in_threads(30, charge)
    assert sum(1 for o in outcomes if isinstance(o, dict)) == 10
    assert sum(1 for o in outcomes if isinstance(o, MonthlyLimitReached)) == 20
    assert monthly_usage(organization=org_a) == (10, 10)
    assert_ledger_invariant(org_a)
