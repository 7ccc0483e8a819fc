"""Concurrent deliveries of one paid checkout on PostgreSQL: the same webhook many times at once, plus customers
reloading the return page and the reconciliation job, credit the ledger exactly once.

Run with e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/sms_payments; skipped on SQLite (no row locks).
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, connections

from billing.checkout import checkout_return_confirm, checkout_start, checkout_webhook_receive, checkouts_reconcile
from billing.models import LedgerEntry, LedgerEntryKind, PaymentProviderEvent, PaymentStatus, Receipt
from billing.selectors import balance_get
from tests.billing.conftest import last_event, pay_on_hosted_page, signed
from tests.billing.helpers import assert_ledger_invariant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(count: int, work) -> list:
    outcomes: list = [None] * count
    start = threading.Event()

    def target(i: int) -> None:
        start.wait()
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


def test_duplicate_webhooks_return_page_and_reconcile_at_once_credit_once(paymongo_simulator, org_a, owner_a, pack):
    assert connection.vendor == "postgresql"
    payment = checkout_start(
        organization=org_a,
        actor_membership=owner_a.memberships.get(organization=org_a),
        pack_id=pack.id,
        site_url="http://testserver",
    )
    pay_on_hosted_page(payment.checkout_url, method="gcash")
    body = last_event(paymongo_simulator, "checkout_session.payment.paid")

    def work(i: int):
        if i % 4 == 3:
            return checkout_return_confirm(organization=org_a, payment_id=payment.id).status
        if i == 10:
            return checkouts_reconcile(older_than=timedelta(0))
        return checkout_webhook_receive(provider_code="paymongo", headers=signed(body), body=body)

    outcomes = run_in_threads(16, work)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    webhook_outcomes = [o for i, o in enumerate(outcomes) if i % 4 != 3 and i != 10]
    assert sum(o == "credited (webhook)" for o in webhook_outcomes) <= 1
    assert all(o in ("credited (webhook)", "already credited") or o.startswith("duplicate") for o in webhook_outcomes)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert LedgerEntry.objects.for_organization(org_a).filter(kind=LedgerEntryKind.TOPUP).count() == 1
    assert Receipt.objects.for_organization(org_a).count() == 1
    assert PaymentProviderEvent.objects.count() == 1
    assert_ledger_invariant(org_a)
