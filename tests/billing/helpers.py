"""Helpers shared by the billing tests."""

from decimal import Decimal

from django.db.models import Sum

from billing.models import CreditAccount, LedgerEntry
from billing.selectors import billing_audit_differences
from billing.services import credit_account_settings_update, credits_adjust


def fund(organization, amount: str) -> None:
    credits_adjust(organization=organization, actor=None, amount=Decimal(amount), reason="test funding")


def funded_with_low_balance_alert(organization, *, balance: str, threshold: str) -> None:
    """`balance` credits on the default plan, without a monthly limit, alerting below `threshold`."""
    fund(organization, balance)
    credit_account_settings_update(
        organization=organization,
        actor=None,
        price_plan=None,
        monthly_segment_limit=None,
        low_balance_threshold=Decimal(threshold),
    )


def assert_ledger_invariant(organization) -> None:
    """Balance == sum of the ledger, the balance_after chain holds, and billing_audit finds nothing."""
    account = CreditAccount.objects.unscoped().get(organization=organization)
    total = LedgerEntry.objects.unscoped().filter(organization=organization).aggregate(total=Sum("amount"))["total"]
    assert account.balance == (total or Decimal("0.00"))
    running = Decimal("0.00")
    for entry in LedgerEntry.objects.unscoped().filter(organization=organization).order_by("id"):
        running += entry.amount
        assert entry.balance_after == running, entry
        assert entry.balance_after >= 0
    assert billing_audit_differences() == []
