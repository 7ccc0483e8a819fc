"""The charge as one conditional UPDATE: a refusal writes nothing; concurrent charges never overdraw."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.errors import InsufficientCredits, MonthlyLimitReached
from billing.models import CreditAccount, LedgerEntry, LedgerEntryKind
from billing.selectors import balance_get, monthly_usage
from billing.services import credit_account_settings_update, message_charge
from tests.billing.helpers import assert_ledger_invariant, fund, funded_with_low_balance_alert
from tests.billing.test_postgres import run_in_threads

pytestmark = pytest.mark.django_db


def _account_state(organization):
    account = CreditAccount.objects.unscoped().get(organization=organization)
    return account.balance, account.usage_month, account.usage_segments, account.updated_at


def test_insufficient_balance_is_refused_with_nothing_written(org_a):
    fund(org_a, "3.00")  # three one-segment messages at the default 1.00
    before = _account_state(org_a)
    entries_before = LedgerEntry.objects.unscoped().filter(organization=org_a).count()
    with pytest.raises(InsufficientCredits) as caught:
        message_charge(organization=org_a, message_ids_and_segments=[(1, 1), (2, 1), (3, 1), (4, 1)])
    assert "the balance is 3.00 credits and this send costs 4.00 credits" in caught.value.message
    assert _account_state(org_a) == before
    assert LedgerEntry.objects.unscoped().filter(organization=org_a).count() == entries_before
    assert_ledger_invariant(org_a)


def test_monthly_limit_is_refused_with_nothing_written(org_a):
    fund(org_a, "100.00")
    credit_account_settings_update(
        organization=org_a, actor=None, price_plan=None, monthly_segment_limit=3, low_balance_threshold=None
    )
    message_charge(organization=org_a, message_ids_and_segments=[(1, 2)])
    before = _account_state(org_a)
    with pytest.raises(MonthlyLimitReached, match="2 of 3 segments used"):
        message_charge(organization=org_a, message_ids_and_segments=[(2, 2)])
    assert _account_state(org_a) == before
    assert monthly_usage(organization=org_a) == (2, 3)
    assert not LedgerEntry.objects.unscoped().filter(organization=org_a, message_id=2).exists()


def test_an_organization_without_an_account_gets_one_and_is_refused(org_b):
    CreditAccount.objects.unscoped().filter(organization=org_b).delete()
    with pytest.raises(InsufficientCredits, match="the balance is 0.00 credits"):
        message_charge(organization=org_b, message_ids_and_segments=[(1, 1)])
    assert CreditAccount.objects.unscoped().filter(organization=org_b).exists()


def test_the_charge_is_one_update_and_one_insert_with_a_chained_ledger(org_a):
    fund(org_a, "10.00")
    account = CreditAccount.objects.unscoped().select_related("price_plan").get(organization=org_a)
    with CaptureQueriesContext(connection) as queries:
        prices = message_charge(organization=org_a, message_ids_and_segments=[(1, 1), (2, 3), (3, 2)], account=account)
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    # The price plan is already on the account (the send read it), so: the conditional UPDATE and the entries, on
    # PostgreSQL both in one statement (the UPDATE and the INSERT in one WITH).
    if connection.vendor == "postgresql":
        assert statements.count("WITH") == 1 and "UPDATE" not in statements and "INSERT" not in statements
    else:
        assert statements.count("UPDATE") == 1
        assert statements.count("INSERT") == 1
    assert "SELECT" not in statements or all("FOR UPDATE" not in q["sql"] for q in queries.captured_queries)
    assert prices == {1: Decimal("1.00"), 2: Decimal("3.00"), 3: Decimal("2.00")}
    assert balance_get(organization=org_a) == Decimal("4.00")
    charges = LedgerEntry.objects.unscoped().filter(organization=org_a, kind=LedgerEntryKind.CHARGE).order_by("id")
    assert [c.balance_after for c in charges] == [Decimal("9.00"), Decimal("6.00"), Decimal("4.00")]
    assert_ledger_invariant(org_a)


def test_crossing_the_low_balance_threshold_arms_the_alert_once(org_a, django_capture_on_commit_callbacks):
    funded_with_low_balance_alert(org_a, balance="3.00", threshold="1.50")
    with django_capture_on_commit_callbacks() as callbacks:
        message_charge(organization=org_a, message_ids_and_segments=[(1, 1)])  # 2.00: not below 1.50
        message_charge(organization=org_a, message_ids_and_segments=[(2, 1)])  # 1.00: below, alert armed
        message_charge(organization=org_a, message_ids_and_segments=[(3, 1)])  # 0.00: already alerted
    assert CreditAccount.objects.unscoped().get(organization=org_a).low_balance_alerted is True
    assert len(callbacks) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_of_different_sizes_never_overdraw(org_a):
    assert connection.vendor == "postgresql"
    fund(org_a, "20.00")  # default plan: 1.00 a segment

    def charge(i: int):
        segments = 1 + i % 4
        with transaction.atomic():
            return message_charge(
                organization=org_a,
                message_ids_and_segments=[(50_000 + i * 10 + n, segments) for n in range(1 + i % 3)],
            )

    outcomes = run_in_threads(60, charge)
    assert [o for o in outcomes if not isinstance(o, dict | InsufficientCredits)] == []
    charged = sum((sum(o.values(), Decimal("0")) for o in outcomes if isinstance(o, dict)), Decimal("0"))
    assert Decimal("0") <= balance_get(organization=org_a) == Decimal("20.00") - charged
    assert not LedgerEntry.objects.unscoped().filter(balance_after__lt=0).exists()
    assert not CreditAccount.objects.unscoped().filter(balance__lt=0).exists()
    assert_ledger_invariant(org_a)
