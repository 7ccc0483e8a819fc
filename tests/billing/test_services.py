"""Billing services: charges, refunds, limits, adjustments, payments, receipts, alerts. The ledger invariant
is checked after every path."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from freezegun import freeze_time

from accounts.models import Membership
from billing.errors import InsufficientCredits, MonthlyLimitReached, PaymentStateError
from billing.models import (
    CreditAccount,
    LedgerEntry,
    LedgerEntryKind,
    PaymentStatus,
    PricePlan,
    Receipt,
)
from billing.selectors import balance_get, message_price, monthly_usage
from billing.services import (
    credit_account_settings_update,
    credits_adjust,
    credits_expire,
    credits_grant_demo,
    low_balance_threshold_set,
    message_charge,
    message_refund,
    payment_confirm,
    payment_fail,
    payment_record,
)
from portal.errors import ApplicationError, PermissionDenied
from tests.billing.helpers import assert_ledger_invariant, fund

MANILA = ZoneInfo("Asia/Manila")


def set_limit(organization, limit):
    credit_account_settings_update(
        organization=organization,
        actor=None,
        price_plan=None,
        monthly_segment_limit=limit,
        low_balance_threshold=None,
    )


# --- Charges ---


def test_bulk_charge_writes_one_entry_per_message_with_a_consistent_chain(org_a):
    fund(org_a, "100.00")
    prices = message_charge(organization=org_a, message_ids_and_segments=[(101, 1), (102, 3), (103, 2)])
    assert prices == {101: Decimal("1.00"), 102: Decimal("3.00"), 103: Decimal("2.00")}
    charges = list(
        LedgerEntry.objects.unscoped().filter(organization=org_a, kind=LedgerEntryKind.CHARGE).order_by("id")
    )
    assert [(e.message_id, e.segments, e.amount, e.balance_after) for e in charges] == [
        (101, 1, Decimal("-1.00"), Decimal("99.00")),
        (102, 3, Decimal("-3.00"), Decimal("96.00")),
        (103, 2, Decimal("-2.00"), Decimal("94.00")),
    ]
    assert balance_get(organization=org_a) == Decimal("94.00")
    assert monthly_usage(organization=org_a) == (6, None)
    assert_ledger_invariant(org_a)


def test_charge_uses_the_organizations_own_plan(org_a, org_b):
    cheap = PricePlan.objects.create(name="Reseller", price_per_segment=Decimal("0.7500"))
    credit_account_settings_update(
        organization=org_a,
        actor=None,
        price_plan=cheap,
        monthly_segment_limit=None,
        low_balance_threshold=None,
    )
    fund(org_a, "10.00")
    fund(org_b, "10.00")
    assert message_charge(organization=org_a, message_ids_and_segments=[(1, 2)]) == {1: Decimal("1.50")}
    assert message_charge(organization=org_b, message_ids_and_segments=[(2, 2)]) == {2: Decimal("2.00")}
    assert message_price(organization=org_a, segments=3) == Decimal("2.25")
    assert_ledger_invariant(org_a)
    assert_ledger_invariant(org_b)


def test_charge_that_would_overdraw_is_refused_whole_and_names_balance_and_price(org_a):
    fund(org_a, "5.00")
    with pytest.raises(InsufficientCredits) as caught:
        message_charge(organization=org_a, message_ids_and_segments=[(1, 2), (2, 2), (3, 2)])
    assert caught.value.status == 402
    assert caught.value.code == "insufficient_credits"
    assert "5.00" in caught.value.message and "6.00" in caught.value.message
    assert caught.value.details == {"balance": "5.00", "price": "6.00", "segments": 6}
    assert not LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.CHARGE).exists()
    assert balance_get(organization=org_a) == Decimal("5.00")
    # Exactly the balance is fine and leaves zero.
    message_charge(organization=org_a, message_ids_and_segments=[(1, 2), (2, 3)])
    assert balance_get(organization=org_a) == Decimal("0.00")
    assert_ledger_invariant(org_a)


def test_charge_without_any_credit_account_is_refused(org_a):
    with pytest.raises(InsufficientCredits, match="balance is 0.00 credits"):
        message_charge(organization=org_a, message_ids_and_segments=[(1, 1)])
    assert balance_get(organization=org_a) == Decimal("0.00")
    assert not LedgerEntry.objects.unscoped().exists()


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([(1, 0)], "invalid_segments"),
        ([(1, -2)], "invalid_segments"),
        ([(1, 1.5)], "invalid_segments"),
        ([("7", 1)], "invalid_message_id"),
        ([(1, 1), (1, 2)], "duplicate_message"),
    ],
)
def test_bad_charge_input_is_refused_and_charges_nothing(org_a, items, code):
    fund(org_a, "10.00")
    with pytest.raises(ApplicationError) as caught:
        message_charge(organization=org_a, message_ids_and_segments=items)
    assert caught.value.code == code
    assert balance_get(organization=org_a) == Decimal("10.00")


def test_empty_charge_is_a_no_op(org_a):
    assert message_charge(organization=org_a, message_ids_and_segments=[]) == {}
    assert not LedgerEntry.objects.unscoped().exists()


def test_a_message_cannot_be_charged_twice(org_a):
    fund(org_a, "10.00")
    message_charge(organization=org_a, message_ids_and_segments=[(5, 1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        message_charge(organization=org_a, message_ids_and_segments=[(5, 1)])
    assert balance_get(organization=org_a) == Decimal("9.00")


def test_charge_rolls_back_with_the_callers_transaction(org_a):
    fund(org_a, "10.00")

    class SendFailed(Exception):
        pass

    with pytest.raises(SendFailed), transaction.atomic():
        message_charge(organization=org_a, message_ids_and_segments=[(1, 4)])
        raise SendFailed
    assert balance_get(organization=org_a) == Decimal("10.00")
    assert monthly_usage(organization=org_a) == (0, None)
    assert_ledger_invariant(org_a)


# --- Monthly limit (Asia/Manila calendar months) ---


def test_monthly_limit_exactly_at_the_limit_is_allowed_one_more_is_refused(org_a):
    fund(org_a, "100.00")
    set_limit(org_a, 10)
    message_charge(organization=org_a, message_ids_and_segments=[(1, 4), (2, 4)])
    message_charge(organization=org_a, message_ids_and_segments=[(3, 2)])  # 10 of 10
    assert monthly_usage(organization=org_a) == (10, 10)
    with pytest.raises(MonthlyLimitReached) as caught:
        message_charge(organization=org_a, message_ids_and_segments=[(4, 1)])
    assert caught.value.status == 403
    assert caught.value.code == "monthly_limit_reached"
    assert "10 of 10" in caught.value.message
    assert balance_get(organization=org_a) == Decimal("90.00")
    assert_ledger_invariant(org_a)


def test_monthly_limit_refuses_a_batch_that_would_cross_it(org_a):
    fund(org_a, "100.00")
    set_limit(org_a, 5)
    message_charge(organization=org_a, message_ids_and_segments=[(1, 3)])
    with pytest.raises(MonthlyLimitReached, match="needs 3 more"):
        message_charge(organization=org_a, message_ids_and_segments=[(2, 2), (3, 1)])
    assert monthly_usage(organization=org_a) == (3, 5)


def test_monthly_limit_resets_at_midnight_manila_not_utc(org_a):
    fund(org_a, "100.00")
    set_limit(org_a, 2)
    # 30 Nov 23:30 in Manila is 15:30 UTC.
    with freeze_time(datetime(2026, 11, 30, 23, 30, tzinfo=MANILA)):
        message_charge(organization=org_a, message_ids_and_segments=[(1, 2)])
        with pytest.raises(MonthlyLimitReached, match="resets on 1 December 2026"):
            message_charge(organization=org_a, message_ids_and_segments=[(2, 1)])
    # 1 Dec 00:05 in Manila is still 30 Nov in UTC: the new month has started for the customer.
    with freeze_time(datetime(2026, 12, 1, 0, 5, tzinfo=MANILA)):
        assert monthly_usage(organization=org_a) == (0, 2)
        message_charge(organization=org_a, message_ids_and_segments=[(2, 2)])
        assert monthly_usage(organization=org_a) == (2, 2)
        assert_ledger_invariant(org_a)


def test_refunded_segments_give_the_monthly_allowance_back(org_a):
    fund(org_a, "100.00")
    set_limit(org_a, 3)
    message_charge(organization=org_a, message_ids_and_segments=[(1, 3)])
    message_refund(organization=org_a, message_id=1, reason="provider rejected")
    assert monthly_usage(organization=org_a) == (0, 3)
    message_charge(organization=org_a, message_ids_and_segments=[(2, 3)])
    assert_ledger_invariant(org_a)


def test_refund_of_last_months_message_does_not_touch_this_months_usage(org_a):
    fund(org_a, "100.00")
    with freeze_time(datetime(2026, 10, 31, 23, 0, tzinfo=MANILA)):
        message_charge(organization=org_a, message_ids_and_segments=[(1, 2)])
    with freeze_time(datetime(2026, 11, 1, 9, 0, tzinfo=MANILA)):
        message_charge(organization=org_a, message_ids_and_segments=[(2, 5)])
        message_refund(organization=org_a, message_id=1, reason="failed")
        assert monthly_usage(organization=org_a) == (5, None)
        assert_ledger_invariant(org_a)


# --- Refunds: exactly once ---


def test_refund_gives_back_exactly_the_charge_once(org_a):
    plan = PricePlan.objects.create(name="Odd", price_per_segment=Decimal("0.3333"))
    credit_account_settings_update(
        organization=org_a,
        actor=None,
        price_plan=plan,
        monthly_segment_limit=None,
        low_balance_threshold=None,
    )
    fund(org_a, "10.00")
    message_charge(organization=org_a, message_ids_and_segments=[(1, 1), (2, 3)])
    assert balance_get(organization=org_a) == Decimal("8.67")  # 0.33 + 1.00
    # The plan changes between charge and refund: the refund still returns what was charged.
    plan.price_per_segment = Decimal("5.0000")
    plan.save()
    refund = message_refund(organization=org_a, message_id=2, reason="network gave up")
    assert refund.kind == LedgerEntryKind.REFUND
    assert refund.amount == Decimal("1.00") and refund.segments == 3
    assert message_refund(organization=org_a, message_id=2, reason="again") is None
    assert message_refund(organization=org_a, message_id=2, reason="and again") is None
    assert LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.REFUND, message_id=2).count() == 1
    assert balance_get(organization=org_a) == Decimal("9.67")
    assert_ledger_invariant(org_a)


def test_refund_of_a_message_never_charged_returns_none(org_a):
    fund(org_a, "1.00")
    assert message_refund(organization=org_a, message_id=999, reason="failed") is None
    assert balance_get(organization=org_a) == Decimal("1.00")


def test_refund_of_another_organizations_message_gives_nothing(org_a, org_b):
    fund(org_a, "5.00")
    message_charge(organization=org_a, message_ids_and_segments=[(1, 1)])
    assert message_refund(organization=org_b, message_id=1, reason="not yours") is None
    assert balance_get(organization=org_b) == Decimal("0.00")
    assert balance_get(organization=org_a) == Decimal("4.00")


def test_database_refuses_a_second_refund_row_even_past_the_service(org_a):
    fund(org_a, "5.00")
    message_charge(organization=org_a, message_ids_and_segments=[(1, 1)])
    message_refund(organization=org_a, message_id=1, reason="failed")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            organization=org_a,
            kind=LedgerEntryKind.REFUND,
            amount=Decimal("1.00"),
            balance_after=Decimal("6.00"),
            message_id=1,
            segments=1,
        )


def test_database_refuses_a_negative_balance_after(org_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            organization=org_a,
            kind=LedgerEntryKind.ADJUSTMENT,
            amount=Decimal("-1.00"),
            balance_after=Decimal("-1.00"),
        )


# --- Adjustments, expiry, demo credits ---


def test_adjustment_needs_a_reason_and_cannot_overdraw(org_a, owner_a):
    with pytest.raises(ApplicationError, match="needs a reason"):
        credits_adjust(organization=org_a, actor=owner_a, amount=Decimal("5.00"), reason="  ")
    credits_adjust(organization=org_a, actor=owner_a, amount=Decimal("5.00"), reason="goodwill")
    with pytest.raises(InsufficientCredits, match="balance of alpha is 5.00 credits; removing 5.01"):
        credits_adjust(organization=org_a, actor=owner_a, amount=Decimal("-5.01"), reason="correction")
    entry = credits_adjust(organization=org_a, actor=owner_a, amount=Decimal("-5.00"), reason="correction")
    assert entry.balance_after == Decimal("0.00") and entry.actor == owner_a
    for bad in (Decimal("0"), Decimal("1.005")):
        with pytest.raises(ApplicationError, match="not a valid adjustment"):
            credits_adjust(organization=org_a, actor=owner_a, amount=bad, reason="x")
    assert_ledger_invariant(org_a)


def test_expiry_removes_at_most_the_balance(org_a):
    fund(org_a, "3.00")
    entry = credits_expire(organization=org_a, actor=None, reason="12-month expiry", amount=Decimal("10"))
    assert entry.amount == Decimal("-3.00") and entry.kind == LedgerEntryKind.EXPIRY
    assert credits_expire(organization=org_a, actor=None, reason="again") is None
    assert_ledger_invariant(org_a)


def test_demo_grant_goes_through_the_ledger_once(org_a):
    first = credits_grant_demo(organization=org_a, amount=Decimal("1000"))
    assert first.amount == Decimal("1000.00")
    assert credits_grant_demo(organization=org_a, amount=Decimal("1000")) is None
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert_ledger_invariant(org_a)


# --- Payments and receipts ---


def test_payment_adds_credits_once_and_issues_sequential_receipts(org_a, org_b):
    staff = None
    with freeze_time(datetime(2026, 11, 25, 10, 0, tzinfo=MANILA)):
        first = payment_record(
            organization=org_a, actor=staff, method="gcash", amount_php=Decimal("500.00"), reference="GC-1"
        )
        second = payment_record(
            organization=org_b,
            actor=staff,
            method="bank_transfer",
            amount_php=Decimal("100.00"),
            reference="BDO-2",
        )
    # Default plan: 0.50 PHP per credit.
    assert first.status == PaymentStatus.CONFIRMED and first.credits == Decimal("1000.00")
    assert first.receipt.number == "R-2026-000001"
    assert second.receipt.number == "R-2026-000002"
    assert balance_get(organization=org_a) == Decimal("1000.00")
    # Confirming again (a second admin save, a repeated gateway callback) adds nothing and issues nothing.
    again = payment_confirm(payment_id=first.id, actor=staff)
    assert again.status == PaymentStatus.CONFIRMED
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert Receipt.objects.unscoped().filter(payment=first).count() == 1
    topup = LedgerEntry.objects.unscoped().get(kind=LedgerEntryKind.TOPUP, organization=org_a)
    assert topup.payment == first and topup.amount == Decimal("1000.00")
    assert_ledger_invariant(org_a)
    assert_ledger_invariant(org_b)


def test_receipt_numbers_restart_each_year(org_a):
    with freeze_time(datetime(2026, 12, 31, 23, 59, tzinfo=MANILA)):
        last = payment_record(organization=org_a, actor=None, method="card", amount_php=Decimal("10.00"))
    with freeze_time(datetime(2027, 1, 1, 0, 1, tzinfo=MANILA)):  # still 2026 in UTC
        first = payment_record(organization=org_a, actor=None, method="card", amount_php=Decimal("10.00"))
    assert last.receipt.number == "R-2026-000001"
    assert first.receipt.number == "R-2027-000001"


def test_payment_with_explicit_credits_and_rounding(org_a):
    explicit = payment_record(
        organization=org_a, actor=None, method="other", amount_php=Decimal("99.99"), credits=Decimal("250.00")
    )
    assert explicit.credits == Decimal("250.00")
    plan = PricePlan.objects.create(name="Thirds", credit_price_php=Decimal("0.3000"))
    credit_account_settings_update(
        organization=org_a,
        actor=None,
        price_plan=plan,
        monthly_segment_limit=None,
        low_balance_threshold=None,
    )
    computed = payment_record(organization=org_a, actor=None, method="other", amount_php=Decimal("100.00"))
    assert computed.credits == Decimal("333.33")  # 333.333… rounded half up to 0.01
    assert balance_get(organization=org_a) == Decimal("583.33")
    assert_ledger_invariant(org_a)


def test_pending_payment_adds_nothing_until_confirmed_and_failed_never(org_a):
    pending = payment_record(
        organization=org_a, actor=None, method="bank_transfer", amount_php=Decimal("50.00"), confirm=False
    )
    assert pending.status == PaymentStatus.PENDING
    assert balance_get(organization=org_a) == Decimal("0.00")
    failed = payment_fail(payment_id=pending.id, actor=None, reason="bounced")
    assert failed.status == PaymentStatus.FAILED
    with pytest.raises(PaymentStateError, match="bounced"):
        payment_confirm(payment_id=pending.id, actor=None)
    assert balance_get(organization=org_a) == Decimal("0.00")
    confirmed = payment_record(organization=org_a, actor=None, method="card", amount_php=Decimal("1.00"))
    with pytest.raises(PaymentStateError, match="adjustment"):
        payment_fail(payment_id=confirmed.id, actor=None, reason="oops")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"method": "bitcoin", "amount_php": Decimal("10")}, "invalid_method"),
        ({"method": "gcash", "amount_php": Decimal("0")}, "invalid_amount"),
        ({"method": "gcash", "amount_php": Decimal("-5")}, "invalid_amount"),
        ({"method": "gcash", "amount_php": Decimal("1.001")}, "invalid_amount"),
        ({"method": "gcash", "amount_php": Decimal("1"), "credits": Decimal("0")}, "invalid_credits"),
    ],
)
def test_bad_payment_input_is_refused(org_a, kwargs, code):
    with pytest.raises(ApplicationError) as caught:
        payment_record(organization=org_a, actor=None, **kwargs)
    assert caught.value.code == code
    assert balance_get(organization=org_a) == Decimal("0.00")


# --- Low-balance alert ---


def alert_mails():
    return [m for m in mail.outbox if "Low SMS credit balance" in m.subject]


def test_low_balance_alert_is_sent_once_after_commit_and_rearmed_by_a_topup(
    org_a, owner_a, admin_a, developer_a, viewer_a, django_capture_on_commit_callbacks
):
    membership = Membership.objects.unscoped().get(user=owner_a, organization=org_a)
    fund(org_a, "20.00")
    low_balance_threshold_set(organization=org_a, actor_membership=membership, threshold=Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message_charge(organization=org_a, message_ids_and_segments=[(1, 10)])  # 10.00: not below
    assert callbacks == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_charge(organization=org_a, message_ids_and_segments=[(2, 1)])  # 9.00: below
        assert alert_mails() == []  # nothing before commit
    assert len(callbacks) == 1
    assert len(alert_mails()) == 1
    sent = alert_mails()[0]
    assert sorted(sent.to) == ["admin@alpha.example", "owner@alpha.example"]
    assert "9.00" in sent.body and "10.00" in sent.body
    with django_capture_on_commit_callbacks(execute=True):
        for message_id in range(3, 8):
            message_charge(organization=org_a, message_ids_and_segments=[(message_id, 1)])
    assert len(alert_mails()) == 1  # one e-mail per dip, not one per message
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal("10.00"))  # 24.00
    assert CreditAccount.objects.unscoped().get(organization=org_a).low_balance_alerted is False
    with django_capture_on_commit_callbacks(execute=True):
        message_charge(organization=org_a, message_ids_and_segments=[(8, 15)])  # 9.00 again
    assert len(alert_mails()) == 2


def test_threshold_needs_manage_billing_and_a_sane_value(org_a, viewer_a, admin_a):
    viewer = Membership.objects.unscoped().get(user=viewer_a, organization=org_a)
    admin = Membership.objects.unscoped().get(user=admin_a, organization=org_a)
    with pytest.raises(PermissionDenied):
        low_balance_threshold_set(organization=org_a, actor_membership=viewer, threshold=Decimal("5"))
    with pytest.raises(ApplicationError, match="zero or more"):
        low_balance_threshold_set(organization=org_a, actor_membership=admin, threshold=Decimal("-1"))
    account = low_balance_threshold_set(organization=org_a, actor_membership=admin, threshold=None)
    assert account.low_balance_threshold is None


@pytest.mark.django_db(transaction=True)
def test_message_charge_refuses_to_run_outside_a_transaction(org_a):
    # Autocommit here (a transactional test): the row lock would end with the statement, so it refuses.
    with pytest.raises(RuntimeError, match="inside the transaction"):
        message_charge(organization=org_a, message_ids_and_segments=[(1, 1)])
