"""Writes for billing: every change of credits goes through here, as one ledger entry per change.

The invariant: for every organization, `CreditAccount.balance` == the sum of its `LedgerEntry.amount`s, and
each entry's `balance_after` == the previous entry's `balance_after` + its `amount`. Each function below keeps
it by taking the organization's `CreditAccount` row lock (`select_for_update`) before reading the balance,
writing the entries and the new balance in the same transaction. The database backs the code up: the balance
and every `balance_after` are CHECKed non-negative, a message has at most one charge and one refund, a payment
at most one top-up (partial unique constraints).

Money enters only through `payment_confirm`: staff's recorded payments (bank transfer, GCash, card, other) and
online checkouts (`billing/checkout.py`, whose verified webhooks and look-ups call it).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.roles import Permission
from accounts.services import audit_log_record, require_permission
from billing import tasks
from billing.charging import message_charge  # noqa: F401  (the send path calls it from here)
from billing.errors import InsufficientCredits, PaymentStateError
from billing.models import (
    CreditAccount,
    LedgerEntry,
    LedgerEntryKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PricePlan,
)
from billing.money import AMOUNT_LIMIT, credits_for_payment, quantize_credits
from billing.receipts import receipt_issue
from billing.selectors import price_plan_for
from portal.errors import ApplicationError, NotFound
from portal.timezone import month_start

logger = logging.getLogger(__name__)

DEMO_GRANT_REASON = "Demo credits"


# --- The lock and the one way to append to the ledger ---


def _account_for_update(*, organization: Organization) -> CreditAccount:
    """The organization's CreditAccount, locked until the transaction ends (created at zero on first use)."""
    # Only the account row is locked (`of`): the price plan comes along in the same query but stays unlocked.
    locked = CreditAccount.objects.select_for_update(of=("self",)).select_related("price_plan")
    account = locked.filter(organization=organization).order_by("pk").first()
    if account is None:
        try:
            with transaction.atomic():
                CreditAccount.objects.create(organization=organization)
        except IntegrityError:  # created meanwhile by a concurrent transaction: lock that one
            pass
        account = locked.get(organization=organization)
    return account


def credit_account_lock(*, organization: Organization) -> CreditAccount:
    """Lock the organization's credit account until the current transaction ends, with its price plan loaded.

    For a send that prices its messages before storing them: pass the account on to `message_charge`, which then
    charges under the same lock instead of reading the account again.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("credit_account_lock() holds a row lock: call it inside transaction.atomic().")
    return _account_for_update(organization=organization)


def _low_balance_check(*, account: CreditAccount) -> None:
    """Arm or re-arm the one low-balance e-mail; the caller saves `low_balance_alerted` with the balance."""
    threshold = account.low_balance_threshold
    if threshold is None:
        account.low_balance_alerted = False
        return
    if account.balance < threshold and not account.low_balance_alerted:
        account.low_balance_alerted = True
        transaction.on_commit(partial(tasks.low_balance_alert_send.enqueue, organization_id=account.organization_id))
    elif account.balance >= threshold and account.low_balance_alerted:
        account.low_balance_alerted = False


def _append(
    *,
    account: CreditAccount,
    kind: str,
    amount: Decimal,
    reason: str = "",
    actor: User | None = None,
    message_id: int | None = None,
    payment: Payment | None = None,
    segments: int = 0,
) -> LedgerEntry:
    """Append one entry to a locked account and save the new balance. Refuses to go below zero."""
    balance_after = account.balance + amount
    if balance_after < 0:
        raise InsufficientCredits(
            f"The balance is {account.balance} credits; removing {-amount} credits would take it below zero.",
            details={"balance": str(account.balance), "amount": str(amount)},
        )
    entry = LedgerEntry.objects.create(
        organization_id=account.organization_id,
        kind=kind,
        amount=amount,
        balance_after=balance_after,
        reason=reason[:255],
        actor=actor if actor is not None and actor.is_authenticated else None,
        message_id=message_id,
        payment=payment,
        segments=segments,
    )
    account.balance = balance_after
    _low_balance_check(account=account)
    account.save(update_fields=["balance", "low_balance_alerted", "updated_at"])
    return entry


# --- Charges and refunds (called by the messaging engine) ---


@transaction.atomic
def message_refund(*, organization: Organization, message_id: int, reason: str) -> LedgerEntry | None:
    """Give back what a finally-failed message was charged, exactly once.

    Returns None when there is nothing to refund: already refunded (also enforced by a unique constraint), or
    never charged (e.g. rejected before charging).
    """
    account = _account_for_update(organization=organization)
    charge = LedgerEntry.objects.filter(
        organization=organization, kind=LedgerEntryKind.CHARGE, message_id=message_id
    ).first()
    if charge is None:
        return None
    if LedgerEntry.objects.filter(
        organization=organization, kind=LedgerEntryKind.REFUND, message_id=message_id
    ).exists():
        return None
    try:
        with transaction.atomic():
            entry = _append(
                account=account,
                kind=LedgerEntryKind.REFUND,
                amount=-charge.amount,
                reason=reason or "Message failed",
                message_id=message_id,
                segments=charge.segments,
            )
    except IntegrityError:  # the unique constraint caught a second refund that slipped past the check
        account.refresh_from_db()
        return None
    if account.usage_month is not None and month_start(charge.created_at) == account.usage_month:
        account.usage_segments = max(0, account.usage_segments - charge.segments)
        account.save(update_fields=["usage_segments", "updated_at"])
    return entry


# --- Staff adjustments, expiry, demo credits ---


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("An adjustment needs a reason.", code="reason_required")
    return reason


@transaction.atomic
def credits_adjust(
    *, organization: Organization, actor: User | None, amount: Decimal, reason: str, via: str = "admin"
) -> LedgerEntry:
    """Add (positive) or remove (negative) credits by hand, with a reason; never below zero."""
    reason = _reason_required(reason)
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount.copy_abs() >= AMOUNT_LIMIT:
        raise ApplicationError(f"{amount!r} is not a valid amount of credits.", code="invalid_amount")
    if quantize_credits(amount) != amount or amount == 0:
        raise ApplicationError(
            f"{amount} is not a valid adjustment: use a non-zero amount with at most two decimals.",
            code="invalid_amount",
        )
    account = _account_for_update(organization=organization)
    if account.balance + amount < 0:
        raise InsufficientCredits(
            f"Refused: the balance of {organization.slug} is {account.balance} credits; "
            f"removing {-amount} credits "
            "would overdraw it.",
            details={"balance": str(account.balance), "amount": str(amount)},
        )
    entry = _append(account=account, kind=LedgerEntryKind.ADJUSTMENT, amount=amount, reason=reason, actor=actor)
    audit_log_record(
        event_type="billing.credits_adjusted",
        organization=organization,
        actor=actor,
        target=entry,
        extra={
            "amount": str(amount),
            "reason": reason,
            "balance_after": str(entry.balance_after),
            "via": via,
        },
    )
    return entry


@transaction.atomic
def credits_expire(
    *, organization: Organization, actor: User | None, reason: str, amount: Decimal | None = None
) -> LedgerEntry | None:
    """Remove expired credits (all of the balance when `amount` is None). None when there is nothing to
    remove."""
    reason = _reason_required(reason)
    account = _account_for_update(organization=organization)
    to_remove = account.balance if amount is None else min(quantize_credits(amount), account.balance)
    if to_remove <= 0:
        return None
    entry = _append(account=account, kind=LedgerEntryKind.EXPIRY, amount=-to_remove, reason=reason, actor=actor)
    audit_log_record(
        event_type="billing.credits_expired",
        organization=organization,
        actor=actor,
        target=entry,
        extra={"amount": str(to_remove), "reason": reason},
    )
    return entry


@transaction.atomic
def credits_grant_demo(*, organization: Organization, amount: Decimal) -> LedgerEntry | None:
    """Demo data: give `amount` credits once, through the ledger. Running the seed again adds nothing."""
    _account_for_update(organization=organization)
    if LedgerEntry.objects.filter(
        organization=organization, kind=LedgerEntryKind.ADJUSTMENT, reason=DEMO_GRANT_REASON
    ).exists():
        return None
    return credits_adjust(
        organization=organization,
        actor=None,
        amount=quantize_credits(Decimal(amount)),
        reason=DEMO_GRANT_REASON,
        via="seed_demo",
    )


# --- Payments: the only path for money into the ledger ---


@transaction.atomic
def payment_record(
    *,
    organization: Organization,
    actor: User | None,
    method: str,
    amount_php: Decimal,
    reference: str = "",
    credits: Decimal | None = None,
    notes: str = "",
    external_id: str | None = None,
    confirm: bool = True,
) -> Payment:
    """Record a payment (staff in admin today, a gateway later); confirmed now unless `confirm` is False."""
    if method not in PaymentMethod.values:
        raise ApplicationError(
            f"Unknown payment method {method!r}; choose one of {', '.join(PaymentMethod.values)}.",
            code="invalid_method",
        )
    if (
        not isinstance(amount_php, Decimal)
        or not amount_php.is_finite()
        or not 0 < amount_php < AMOUNT_LIMIT
        or quantize_credits(amount_php) != amount_php
    ):
        raise ApplicationError(
            f"The amount paid must be a positive PHP amount with at most two decimals, not {amount_php}.",
            code="invalid_amount",
        )
    if credits is not None and (
        not isinstance(credits, Decimal)
        or not credits.is_finite()
        or not 0 < credits < AMOUNT_LIMIT
        or quantize_credits(credits) != credits
    ):
        raise ApplicationError(
            f"Credits must be positive with at most two decimals, not {credits}.", code="invalid_credits"
        )
    payment = Payment.objects.create(
        organization=organization,
        method=method,
        amount_php=amount_php,
        credits=credits,
        reference=reference.strip(),
        notes=notes,
        external_id=external_id or None,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_log_record(
        event_type="billing.payment_recorded",
        organization=organization,
        actor=actor,
        target=payment,
        extra={"amount_php": str(amount_php), "method": method, "reference": payment.reference},
    )
    if confirm:
        payment = payment_confirm(payment_id=payment.id, actor=actor)
    return payment


@transaction.atomic
def payment_confirm(*, payment_id: int, actor: User | None) -> Payment:
    """Money received: add the credits and issue the receipt, exactly once (a second call changes nothing)."""
    payment = (
        Payment.objects.unscoped()  # staff and the payment provider act on a payment by its id
        .select_for_update(of=("self",))
        .select_related("organization")
        .filter(id=payment_id)
        .first()
    )
    if payment is None:
        raise NotFound("No such payment.")
    if payment.status == PaymentStatus.CONFIRMED:
        return payment
    if payment.status == PaymentStatus.FAILED:
        raise PaymentStateError(f"Payment {payment.id} was marked failed ({payment.failure_reason}); record a new one.")
    organization = payment.organization
    account = _account_for_update(organization=organization)
    if payment.credits is None:
        plan = price_plan_for(organization=organization, account=account)
        payment.credits = credits_for_payment(amount_php=payment.amount_php, credit_price_php=plan.credit_price_php)
    if payment.credits <= 0:
        raise ApplicationError(
            f"₱{payment.amount_php} buys {payment.credits} credits; enter the credits by hand.",
            code="invalid_credits",
        )
    entry = _append(
        account=account,
        kind=LedgerEntryKind.TOPUP,
        amount=payment.credits,
        reason=f"{payment.get_method_display()} {payment.reference}".strip(),
        actor=actor,
        payment=payment,
    )
    payment.status = PaymentStatus.CONFIRMED
    payment.confirmed_at = timezone.now()
    payment.save(update_fields=["status", "confirmed_at", "credits"])
    receipt = receipt_issue(payment=payment)
    audit_log_record(
        event_type="billing.payment_confirmed",
        organization=organization,
        actor=actor,
        target=payment,
        extra={
            "credits": str(payment.credits),
            "receipt": receipt.number,
            "balance_after": str(entry.balance_after),
        },
    )
    return payment


@transaction.atomic
def payment_fail(*, payment_id: int, actor: User | None, reason: str) -> Payment:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Marking a payment failed needs a reason.", code="reason_required")
    payment = (
        Payment.objects.unscoped()  # staff and the payment provider act on a payment by its id
        .select_for_update(of=("self",))
        .select_related("organization")
        .filter(id=payment_id)
        .first()
    )
    if payment is None:
        raise NotFound("No such payment.")
    if payment.status == PaymentStatus.CONFIRMED:
        raise PaymentStateError(
            f"Payment {payment.id} is confirmed and its credits were added; take them back with an adjustment."
        )
    if payment.status == PaymentStatus.PENDING:
        payment.status = PaymentStatus.FAILED
        payment.failed_at = timezone.now()
        payment.failure_reason = reason[:255]
        payment.save(update_fields=["status", "failed_at", "failure_reason"])
        audit_log_record(
            event_type="billing.payment_failed",
            organization=payment.organization,
            actor=actor,
            target=payment,
            extra={"reason": reason},
        )
    return payment


# --- Settings: customers' threshold, staff's plan and limit ---


@transaction.atomic
def low_balance_threshold_set(
    *, organization: Organization, actor_membership: Membership, threshold: Decimal | None
) -> CreditAccount:
    require_permission(membership=actor_membership, permission=Permission.MANAGE_BILLING)
    if threshold is not None and (
        not threshold.is_finite() or not 0 <= threshold < AMOUNT_LIMIT or quantize_credits(threshold) != threshold
    ):
        raise ApplicationError(
            "The threshold must be zero or more credits with at most two decimals.", code="invalid_threshold"
        )
    account = _account_for_update(organization=organization)
    previous = account.low_balance_threshold
    account.low_balance_threshold = threshold
    # A new threshold starts a new watch: if the balance is already below it, the alert goes out now.
    account.low_balance_alerted = False
    _low_balance_check(account=account)
    account.save(update_fields=["low_balance_threshold", "low_balance_alerted", "updated_at"])
    audit_log_record(
        event_type="billing.low_balance_threshold_set",
        organization=organization,
        actor=actor_membership.user,
        target=account,
        extra={
            "from": None if previous is None else str(previous),
            "to": None if threshold is None else str(threshold),
        },
    )
    return account


@transaction.atomic
def credit_account_settings_update(
    *,
    organization: Organization,
    actor: User | None,
    price_plan: PricePlan | None,
    monthly_segment_limit: int | None,
    low_balance_threshold: Decimal | None,
) -> CreditAccount:
    """Staff settings (admin): the organization's plan (None = default), monthly limit and alert threshold."""
    if monthly_segment_limit is not None and monthly_segment_limit < 0:
        raise ApplicationError("The monthly limit cannot be negative.", code="invalid_limit")
    account = _account_for_update(organization=organization)
    changes = {}
    for name, value in (
        ("price_plan", price_plan),
        ("monthly_segment_limit", monthly_segment_limit),
        ("low_balance_threshold", low_balance_threshold),
    ):
        if getattr(account, name) != value:
            changes[name] = [str(getattr(account, name)), str(value)]
            setattr(account, name, value)
    if "low_balance_threshold" in changes:
        account.low_balance_alerted = False
        _low_balance_check(account=account)
    account.save()
    if changes:
        audit_log_record(
            event_type="billing.account_settings_changed",
            organization=organization,
            actor=actor,
            target=account,
            extra=changes,
        )
    return account
