"""Buying credits online: a checkout at the payment provider for a credit pack, credited exactly once.

1. `checkout_start` creates a pending `Payment` (the pack's credits at the organization's PHP price per credit),
   opens a checkout at the provider (`payment_providers`), keeps its id and URL, and the customer is sent there.
2. The provider tells the site through a signed webhook (`checkout_webhook_receive`); the customer's return to the
   success page also asks the provider (`checkout_return_confirm`); the periodic `checkouts_reconcile` asks about
   checkouts nobody heard of. All three end in `_checkout_paid`, which locks the payment row and calls
   `services.payment_confirm` (itself idempotent), so a paid checkout credits the ledger once, whichever comes first,
   however often. Webhook event ids are kept (`PaymentProviderEvent`, unique): a delivery seen before changes nothing.
3. A declined attempt (`payment.failed`) or an expired checkout marks the payment failed: no credits. A checkout
   the provider later says was paid anyway is credited (the provider holds the money), with an audit record.

The provider is called outside any transaction (no row lock is held during a network call); each write is its own
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization
from accounts.roles import Permission
from accounts.services import audit_log_record, require_permission
from billing.errors import PaymentStateError
from billing.models import CreditPack, Payment, PaymentMethod, PaymentProviderEvent, PaymentStatus
from billing.payment_providers.base import Checkout, CheckoutStatus, PaymentProviderError, WebhookKind
from billing.payment_providers.registry import checkout_provider, payment_provider
from billing.selectors import credit_pack_price
from billing.services import payment_confirm, payment_fail
from portal.errors import ApplicationError, NotFound

logger = logging.getLogger(__name__)

# A checkout that never got its provider id this long after it was started (the call failed midway) is failed.
UNOPENED_CHECKOUT_GRACE = timedelta(minutes=15)


DEMO_PACKS = (("Starter", "1000.00"), ("Business", "5000.00"), ("Volume", "20000.00"))


@transaction.atomic
def credit_packs_seed_demo() -> int:
    """Demo data: three packs on sale, only when staff have made none. Returns how many were created."""
    if CreditPack.objects.exists():
        return 0
    CreditPack.objects.bulk_create(
        CreditPack(name=name, credits=Decimal(credits), sort_order=order)
        for order, (name, credits) in enumerate(DEMO_PACKS, start=1)
    )
    return len(DEMO_PACKS)


def checkout_reference(payment: Payment) -> str:
    return f"SMS-{payment.id}"


@transaction.atomic
def _pending_checkout_create(*, organization: Organization, actor_membership: Membership, pack_id: int) -> Payment:
    require_permission(membership=actor_membership, permission=Permission.MANAGE_BILLING)
    pack = CreditPack.objects.filter(id=pack_id, is_active=True).first()
    if pack is None:
        raise NotFound("No such credit pack.")
    payment = Payment.objects.create(
        organization=organization,
        method=PaymentMethod.ONLINE,
        amount_php=credit_pack_price(organization=organization, pack=pack),
        credits=pack.credits,
        provider=settings.BILLING_CHECKOUT_PROVIDER,
        pack=pack,
        recorded_by=actor_membership.user,
    )
    audit_log_record(
        event_type="billing.checkout_started",
        organization=organization,
        actor=actor_membership.user,
        target=payment,
        extra={"pack": pack.name, "credits": str(pack.credits), "amount_php": str(payment.amount_php)},
    )
    return payment


def checkout_start(*, organization: Organization, actor_membership: Membership, pack_id: int, site_url: str) -> Payment:
    """A pending payment for the pack with an open checkout; send the customer to `payment.checkout_url`.

    `site_url` is this site's address as the customer sees it (the provider sends the customer back to it).
    Raises ApplicationError (code "payment_provider_unavailable") when the provider cannot open the checkout; the
    payment is then marked failed.
    """
    payment = _pending_checkout_create(organization=organization, actor_membership=actor_membership, pack_id=pack_id)
    site_url = site_url.rstrip("/")
    try:
        checkout = checkout_provider().checkout_create(
            reference_number=checkout_reference(payment),
            amount_php=payment.amount_php,
            item_name=f"{payment.pack.name}: {payment.credits:,} SMS credits",
            description=f"SMS credits for {organization.name}",
            success_url=site_url + reverse("billing:checkout_return", args=[payment.id]),
            cancel_url=site_url + reverse("billing:checkout_cancel", args=[payment.id]),
            metadata={"payment_id": str(payment.id), "organization": organization.slug},
        )
    except PaymentProviderError as error:
        logger.warning("Checkout for payment %s could not be opened: %s", payment.id, error)
        payment_fail(payment_id=payment.id, actor=None, reason=f"The checkout could not be opened: {error}")
        raise ApplicationError(
            "Online payment is not available right now; nothing was charged. Please try again in a few minutes.",
            code="payment_provider_unavailable",
        ) from error
    with transaction.atomic():
        Payment.objects.for_organization(organization).filter(id=payment.id).update(
            external_id=checkout.id, checkout_url=checkout.checkout_url, provider_intent_id=checkout.intent_id
        )
    payment.refresh_from_db()
    return payment


def _locked_payment(payment_id: int) -> Payment:
    # The provider and the reconciliation act on a payment by its id, whatever the organization.
    return Payment.objects.unscoped().select_for_update(of=("self",)).get(id=payment_id)


@transaction.atomic
def _checkout_paid(*, payment_id: int, checkout: Checkout, via: str) -> str:
    """Credit a checkout the provider says is paid, once. Returns what happened (kept with the event)."""
    payment = _locked_payment(payment_id)
    if payment.status == PaymentStatus.CONFIRMED:
        return "already credited"
    if checkout.amount_php is not None and checkout.amount_php != payment.amount_php:
        logger.error(
            "Checkout %s paid ₱%s but payment %s is for ₱%s: not credited",
            checkout.id,
            checkout.amount_php,
            payment.id,
            payment.amount_php,
        )
        audit_log_record(
            event_type="billing.checkout_amount_mismatch",
            organization=payment.organization,
            target=payment,
            extra={"checkout": checkout.id, "paid_php": str(checkout.amount_php), "via": via},
        )
        return "amount does not match: not credited, staff to check"
    if payment.status == PaymentStatus.FAILED:
        # A declined attempt or an expiry marked it failed, yet the provider holds the money: the customer paid.
        audit_log_record(
            event_type="billing.checkout_paid_after_failure",
            organization=payment.organization,
            target=payment,
            extra={"previous_failure": payment.failure_reason, "via": via},
        )
        payment.status = PaymentStatus.PENDING
        payment.failed_at = None
        payment.failure_reason = ""
    payment.method = checkout.method if checkout.method in PaymentMethod.values else PaymentMethod.OTHER
    payment.reference = checkout.payment_id or checkout.id
    payment.save(update_fields=["status", "failed_at", "failure_reason", "method", "reference"])
    payment_confirm(payment_id=payment.id, actor=None)
    return f"credited ({via})"


def _payment_for_checkout(*, provider: str, checkout_id: str, metadata: Mapping | None = None) -> Payment | None:
    payments = Payment.objects.unscoped()  # a webhook names the checkout, not the organization
    payment = payments.filter(provider=provider, external_id=checkout_id).first() if checkout_id else None
    if payment is None and metadata:
        # Paid between the provider's answer and the save of its id: the payment id travels in the metadata.
        raw_id = str(metadata.get("payment_id", ""))
        if raw_id.isdigit():
            payment = payments.filter(provider=provider, id=int(raw_id), external_id__isnull=True).first()
    return payment


def checkout_webhook_receive(*, provider_code: str, headers: Mapping[str, str], body: bytes) -> str:
    """Handle one webhook delivery. Raises NotFound for an unknown provider and the provider's
    WebhookVerificationError for a delivery that is not genuine; returns what was done."""
    try:
        provider = payment_provider(provider_code)
    except LookupError:
        raise NotFound("No such payment provider.") from None
    event = provider.webhook_event(headers=headers, body=body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = PaymentProviderEvent.objects.create(
                    provider=provider_code, event_id=event.id, event_type=event.type[:80]
                )
        except IntegrityError:
            # Seen before (a retry, or the same delivery twice at once: the second insert waited for the first).
            return "duplicate event: nothing to do"
        outcome, payment = _event_apply(provider_code=provider_code, event=event)
        record.payment = payment
        record.outcome = outcome[:255]
        record.save(update_fields=["payment", "outcome"])
    return outcome


def _event_apply(*, provider_code: str, event) -> tuple[str, Payment | None]:
    if event.kind == WebhookKind.PAID and event.checkout is not None:
        payment = _payment_for_checkout(
            provider=provider_code, checkout_id=event.checkout.id, metadata=event.checkout.metadata
        )
        if payment is None:
            return "unknown checkout", None
        return _checkout_paid(payment_id=payment.id, checkout=event.checkout, via="webhook"), payment
    if event.kind == WebhookKind.FAILED:
        payments = Payment.objects.unscoped()  # a webhook names the payment intent, not the organization
        payment = None
        if event.intent_id:
            payment = payments.filter(provider=provider_code, provider_intent_id=event.intent_id).first()
        if payment is None:
            return "unknown payment", None
        if payment.status != PaymentStatus.PENDING:
            return f"payment already {payment.status}", payment
        try:
            payment_fail(payment_id=payment.id, actor=None, reason=f"Declined: {event.failure_reason}")
        except PaymentStateError:  # credited meanwhile: a later attempt in the same checkout was paid
            return "already credited", payment
        return "marked failed", payment
    return "ignored", None


def checkout_return_confirm(*, organization: Organization, payment_id: int) -> Payment:
    """The customer is back on the success page: if the webhook has not come yet, ask the provider."""
    payment = Payment.objects.for_organization(organization).filter(id=payment_id).first()
    if payment is None or not payment.provider:
        raise NotFound("No such checkout.")
    if payment.status == PaymentStatus.PENDING and payment.external_id:
        _checkout_refresh(payment=payment, via="return")
        payment.refresh_from_db()
    return payment


def _checkout_refresh(*, payment: Payment, via: str) -> str:
    try:
        checkout = payment_provider(payment.provider).checkout_get(payment.external_id)
    except (PaymentProviderError, LookupError) as error:
        logger.warning("Checkout %s of payment %s could not be read: %s", payment.external_id, payment.id, error)
        return "provider unavailable"
    if checkout.status == CheckoutStatus.PAID:
        return _checkout_paid(payment_id=payment.id, checkout=checkout, via=via)
    if checkout.status == CheckoutStatus.EXPIRED:
        try:
            payment_fail(payment_id=payment.id, actor=None, reason="The checkout expired unpaid.")
        except PaymentStateError:  # confirmed meanwhile by a webhook
            return "already credited"
        return "expired"
    return "open"


def checkout_check(*, payment_id: int) -> str:
    """Staff ("ask the provider" in admin): what the provider says about this online checkout, applied."""
    payment = Payment.objects.unscoped().filter(id=payment_id).exclude(provider="").first()  # staff: any organization
    if payment is None:
        raise NotFound("No such online payment.")
    if payment.status == PaymentStatus.CONFIRMED:
        return "already credited"
    if not payment.external_id:
        return "the checkout was never opened"
    return _checkout_refresh(payment=payment, via="staff check")


def checkouts_reconcile(*, older_than: timedelta = timedelta(minutes=10)) -> dict[str, int]:
    """Periodic: pending online payments nobody heard of for a while are asked about (paid, expired, still open).

    Returns a count per outcome. A checkout whose provider id was never saved (the opening call failed midway) is
    failed once it is older than UNOPENED_CHECKOUT_GRACE; one still unpaid after BILLING_CHECKOUT_EXPIRY_MINUTES is
    failed as abandoned.
    """
    now = timezone.now()
    abandoned_after = timedelta(minutes=settings.BILLING_CHECKOUT_EXPIRY_MINUTES)
    counts: dict[str, int] = {}
    # Every organization's pending checkouts, by design: this is the site's reconciliation job.
    pending = Payment.objects.unscoped().filter(status=PaymentStatus.PENDING).exclude(provider="")
    for payment in pending.filter(created_at__lt=now - older_than).order_by("id")[:500]:
        if not payment.external_id:
            if payment.created_at < now - UNOPENED_CHECKOUT_GRACE:
                payment_fail(payment_id=payment.id, actor=None, reason="The checkout was never opened.")
                outcome = "never opened"
            else:
                outcome = "opening"
        else:
            outcome = _checkout_refresh(payment=payment, via="reconcile")
            if outcome == "open" and payment.created_at < now - abandoned_after:
                # Still payable at the provider but long abandoned: no credits; paid later, it is credited then.
                payment_fail(payment_id=payment.id, actor=None, reason="The checkout was abandoned unpaid.")
                outcome = "abandoned"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
