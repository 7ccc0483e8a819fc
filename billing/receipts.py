"""Receipts: what a Philippine official receipt / invoice needs, numbered without gaps.

Called by `services.payment_confirm` inside its transaction (the payment and the credit account are locked). The
receipt copies everything it prints, so it never changes afterwards:
- the seller's registered name, address and TIN, and whether it is VAT-registered (`BILLING_RECEIPT_ISSUER`);
- the buyer's registered name (the organization's billing name, else its name), TIN and address when given;
- a serial number `<prefix>-<year>-<NNNNNN>`: the year's `ReceiptCounter` row is locked while numbering and the
  increment commits or rolls back with the payment, so numbers have no gaps;
- the amount: a VAT-registered seller's total is split into VATable sales and VAT (the price includes VAT); a
  non-VAT seller's total is the sale and the receipt says so.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Permission
from accounts.services import audit_log_record, require_permission
from billing.models import CreditAccount, Payment, Receipt, ReceiptCounter
from portal.errors import ApplicationError
from portal.timezone import operator_tz

CENT = Decimal("0.01")
# The BIR's TIN: 9 digits, then the branch code (3 digits, or 5 since the 2023 format), dashes optional.
TIN_PATTERN = re.compile(r"\d{3}-?\d{3}-?\d{3}(?:-?\d{3}(?:\d{2})?)?")


def vat_split(*, total_php: Decimal, vat_rate: Decimal) -> tuple[Decimal, Decimal]:
    """(VATable sales, VAT) of a VAT-inclusive total: the two add up to the total exactly."""
    vatable = (total_php / (1 + vat_rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return vatable, total_php - vatable


def _next_sequence(*, year: int) -> int:
    counter = ReceiptCounter.objects.select_for_update().filter(year=year).first()
    if counter is None:
        try:
            with transaction.atomic():
                ReceiptCounter.objects.create(year=year)
        except IntegrityError:  # created meanwhile by a concurrent transaction: lock that one
            pass
        counter = ReceiptCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def receipt_issue(*, payment: Payment) -> Receipt:
    """Issue the receipt of a payment being confirmed (inside `payment_confirm`'s transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("receipt_issue() numbers under a row lock: call it inside the payment's transaction.")
    issued_at = timezone.now()
    year = timezone.localtime(issued_at, operator_tz()).year
    sequence = _next_sequence(year=year)
    organization = payment.organization
    account = CreditAccount.objects.filter(organization=organization).first()
    issuer = settings.BILLING_RECEIPT_ISSUER
    vat_registered = bool(issuer.get("vat_registered"))
    vatable = vat = rate = None
    if vat_registered:
        rate = Decimal(str(issuer.get("vat_rate", "12.00")))
        vatable, vat = vat_split(total_php=payment.amount_php, vat_rate=rate)
    description = f"SMS credits: {payment.credits:,} credits"
    if payment.pack_id is not None:
        description = f"SMS credits, {payment.pack.name}: {payment.credits:,} credits"
    return Receipt.objects.create(
        organization=organization,
        payment=payment,
        number=f"{settings.BILLING_RECEIPT_PREFIX}-{year}-{sequence:06d}",
        year=year,
        sequence=sequence,
        billed_to=(account.billing_name if account is not None and account.billing_name else organization.name),
        buyer_tin=account.billing_tin if account is not None else "",
        buyer_address=account.billing_address if account is not None else "",
        seller_name=issuer.get("name", ""),
        seller_address=issuer.get("address", ""),
        seller_tin=issuer.get("tin", ""),
        seller_vat_registered=vat_registered,
        description=description[:200],
        amount_php=payment.amount_php,
        vatable_sales_php=vatable,
        vat_rate=rate,
        vat_php=vat,
        credits=payment.credits,
        method=payment.method,
        reference=payment.reference,
        issued_at=issued_at,
    )


@transaction.atomic
def billing_profile_update(
    *, organization, actor_membership, billing_name: str, billing_tin: str, billing_address: str
) -> CreditAccount:
    """Who the organization's next receipts are made out to (receipts already issued keep what they print)."""
    require_permission(membership=actor_membership, permission=Permission.MANAGE_BILLING)
    billing_tin = billing_tin.strip()
    if billing_tin and not TIN_PATTERN.fullmatch(billing_tin):
        raise ApplicationError(
            "A TIN has 9 digits and may end with a 3- to 5-digit branch code, e.g. 123-456-789-00000.",
            code="invalid_tin",
        )
    account, _ = CreditAccount.objects.get_or_create(organization=organization)
    account.billing_name = billing_name.strip()[:200]
    account.billing_tin = billing_tin
    account.billing_address = billing_address.strip()[:255]
    account.save(update_fields=["billing_name", "billing_tin", "billing_address", "updated_at"])
    audit_log_record(
        event_type="billing.profile_changed",
        organization=organization,
        actor=actor_membership.user,
        target=account,
        extra={"billing_name": account.billing_name, "billing_tin": account.billing_tin},
    )
    return account
