"""Billing models: the credit ledger, the per-organization balance row, price plans, payments and receipts.

Money rules (see also `billing/money.py`):
- Credits are Decimals with two places. One credit pays one SMS segment at the default price.
- Every change of a balance is one append-only `LedgerEntry` written by `billing.services` in the
  same transaction that updates `CreditAccount.balance` under a row lock. `CreditAccount.balance` is a cache
  of the sum of the organization's ledger; `manage.py billing_audit` proves the two agree.
- Money from customers enters only through `services.payment_confirm`, whatever the payment method, so an
  online gateway is one more `PaymentMethod` and one more caller of `payment_confirm`, never a new ledger path.

The tables keep their `accounts_*` names from when billing was part of the accounts app.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.tenancy import TenantManager

__all__ = [
    "CreditAccount",
    "CreditPack",
    "LedgerEntry",
    "LedgerEntryKind",
    "Payment",
    "PaymentMethod",
    "PaymentProviderEvent",
    "PaymentStatus",
    "PricePlan",
    "Receipt",
    "ReceiptCounter",
]

CREDIT_DIGITS = 14
CREDIT_PLACES = 2


def _credits_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=CREDIT_DIGITS, decimal_places=CREDIT_PLACES, **kwargs)


class PricePlan(models.Model):
    """What a segment costs in credits, and what a credit costs in PHP when bought.

    Exactly one plan is the default (a partial unique constraint); an organization uses it unless staff pick
    another plan on its credit account.
    """

    name = models.CharField(max_length=80, unique=True)
    price_per_segment = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal("1.0000"),
        help_text="Credits charged for one SMS segment",
    )
    credit_price_php = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal("1.0000"),
        help_text="PHP paid for one credit; a top-up of P gives P / this many credits (rounded to 0.01)",
    )
    is_default = models.BooleanField(default=False)
    api_requests_per_minute_per_key = models.PositiveIntegerField(
        null=True, blank=True, help_text="API requests per minute for each API key; empty: the site default"
    )
    api_requests_per_minute_per_organization = models.PositiveIntegerField(
        null=True, blank=True, help_text="API requests per minute for the whole organization; empty: the site default"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_priceplan"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="priceplan_one_default"),
            # At least 0.01 so that every message costs at least one cent of a credit (no zero-amount ledger entries).
            models.CheckConstraint(
                condition=Q(price_per_segment__gte=Decimal("0.01")),
                name="priceplan_segment_price_at_least_cent",
            ),
            models.CheckConstraint(condition=Q(credit_price_php__gt=0), name="priceplan_credit_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_per_segment} credits/segment)"


class CreditAccount(models.Model):
    """One row per organization: the balance (a cache of the ledger's sum) and the billing settings.

    This row is the lock every balance change takes (`select_for_update`), so charges of one organization are
    serialised while different organizations never wait for each other.
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="credit_account"
    )
    balance = _credits_field(default=Decimal("0.00"))
    price_plan = models.ForeignKey(
        PricePlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_accounts",
        help_text="Leave empty to use the default plan",
    )
    monthly_segment_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Segments the organization may send per calendar month (Asia/Manila)"
    )
    # Segments charged (minus those refunded) in the month that starts on `usage_month`; kept under the same
    # lock as the balance so the limit check does not sum the month's ledger on every send. billing_audit re-derives it.
    usage_month = models.DateField(null=True, blank=True)
    usage_segments = models.PositiveIntegerField(default=0)
    low_balance_threshold = _credits_field(null=True, blank=True)
    # Set when the low-balance e-mail goes out, cleared when the balance is back at or above the threshold:
    # one e-mail per dip, not one per message.
    low_balance_alerted = models.BooleanField(default=False)
    # Who receipts are made out to (a Philippine invoice names the buyer and, when given, the buyer's TIN).
    # Empty name: the organization's name.
    billing_name = models.CharField(max_length=200, blank=True, help_text="Registered name on receipts")
    billing_tin = models.CharField(max_length=20, blank=True, help_text="Taxpayer Identification Number (TIN)")
    billing_address = models.CharField(max_length=255, blank=True, help_text="Registered address on receipts")
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        db_table = "accounts_creditaccount"
        ordering = ["organization__name"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="creditaccount_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.organization}: {self.balance} credits"


class LedgerEntryKind(models.TextChoices):
    TOPUP = "topup", "Top-up"  # credits bought: a confirmed payment
    CHARGE = "charge", "Charge"  # a message accepted for sending
    REFUND = "refund", "Refund"  # a charged message that finally failed, given back once
    ADJUSTMENT = "adjustment", "Adjustment"  # staff correction or grant, always with a reason
    EXPIRY = "expiry", "Expiry"  # credits removed because they expired


class LedgerEntry(models.Model):
    """One change of an organization's credits. Append-only: never updated, never deleted.

    `amount` is signed (a charge is negative); `balance_after` is the balance right after this entry, so the
    entries of one organization in id order form a chain that `billing_audit` checks.
    """

    # No index of its own: ledger_org_id and ledger_org_created lead with it (one index fewer written per entry).
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="ledger_entries", db_index=False
    )
    kind = models.CharField(max_length=16, choices=LedgerEntryKind.choices)
    amount = _credits_field()
    balance_after = _credits_field()
    segments = models.PositiveIntegerField(default=0, help_text="For charges and refunds")
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A plain id, not a foreign key: messaging depends on accounts, so an FK back would make a migration cycle.
    message_id = models.BigIntegerField(null=True, blank=True)
    payment = models.ForeignKey(
        "billing.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        db_table = "accounts_ledgerentry"
        ordering = ["-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["organization", "-id"], name="ledger_org_id"),
            models.Index(fields=["organization", "created_at"], name="ledger_org_created"),
        ]
        # Look-ups by message always name the kind, so the two partial unique indexes below serve them.
        constraints = [
            # The database, not only the code, makes "refunded exactly once" and "charged once" true.
            models.UniqueConstraint(
                fields=["message_id"], condition=Q(kind="refund"), name="ledger_one_refund_per_message"
            ),
            models.UniqueConstraint(
                fields=["message_id"], condition=Q(kind="charge"), name="ledger_one_charge_per_message"
            ),
            models.UniqueConstraint(fields=["payment"], condition=Q(kind="topup"), name="ledger_one_topup_per_payment"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["topup", "refund"], amount__gt=0)
                    | Q(kind__in=["charge", "expiry"], amount__lt=0)
                    | Q(kind="adjustment")
                ),
                name="ledger_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["charge", "refund"], message_id__isnull=False)
                | ~Q(kind__in=["charge", "refund"]),
                name="ledger_message_entries_name_message",
            ),
            models.CheckConstraint(
                condition=Q(kind="topup", payment__isnull=False) | ~Q(kind="topup"),
                name="ledger_topup_names_payment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+} → {self.balance_after}"


class CreditPack(models.Model):
    """A number of credits customers buy online in one checkout, priced at their plan's PHP per credit."""

    name = models.CharField(max_length=80)
    credits = _credits_field(help_text="Credits added when the pack is paid")
    is_active = models.BooleanField(default=True, help_text="Listed on the billing page")
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sort_order", "credits"]
        constraints = [models.CheckConstraint(condition=Q(credits__gt=0), name="creditpack_credits_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} credits)"


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"  # recorded by staff once the bank shows it
    GCASH = "gcash", "GCash"  # staff from the GCash reference, or an online checkout paid with GCash
    CARD = "card", "Card"  # staff from the processor statement, or an online checkout paid by card
    MAYA = "paymaya", "Maya"  # an online checkout paid with Maya (PayMongo's code is "paymaya")
    QRPH = "qrph", "QR Ph"  # an online checkout paid by scanning a QR Ph code in any bank or e-wallet app
    ONLINE = "online", "Online checkout"  # a checkout not paid yet: the customer picks the method there
    OTHER = "other", "Other"  # anything else; the reference field says what


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # recorded or started, no credits yet
    CONFIRMED = "confirmed", "Confirmed"  # money received; credits added exactly once and a receipt issued
    FAILED = "failed", "Failed"  # never received (bounced, declined); no credits


class Payment(models.Model):
    """Money paid (or being paid) by an organization, in PHP. Confirming it is the only way money becomes
    credits."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=24, choices=PaymentMethod.choices)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount_php = models.DecimalField(max_digits=12, decimal_places=2)
    credits = _credits_field(
        null=True,
        blank=True,
        help_text="Credits to add; leave empty to compute amount / the plan's PHP price per credit",
    )
    reference = models.CharField(max_length=120, blank=True, help_text="Bank / GCash / card reference")
    # An online payment's checkout at its payment provider (PayMongo's "cs_..."), unique so no two payments share
    # a checkout. The paid checkout's payment id ("pay_...") becomes the reference.
    external_id = models.CharField(max_length=120, null=True, blank=True, unique=True)
    provider = models.CharField(max_length=32, blank=True, help_text="Payment provider of an online checkout")
    provider_intent_id = models.CharField(max_length=120, blank=True, help_text="The provider's payment intent")
    checkout_url = models.URLField(max_length=1000, blank=True)
    pack = models.ForeignKey(CreditPack, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        db_table = "accounts_payment"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="payment_org_created")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_php__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(credits__isnull=True) | Q(credits__gt=0), name="payment_credits_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"₱{self.amount_php} {self.get_method_display()} ({self.get_status_display()})"


class PaymentProviderEvent(models.Model):
    """A webhook event a payment provider delivered, kept by its id: the same event delivered again is seen here
    and changes nothing. No payload is kept (it may name the payer)."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=80)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="paymentproviderevent_unique_event")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class ReceiptCounter(models.Model):
    """The last receipt number issued in a year; locked while numbering so numbers are sequential without
    gaps."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "accounts_receiptcounter"

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Receipt(models.Model):
    """Issued once per confirmed payment. Billed-to and amounts are copies: a receipt never changes."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="receipts")
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(max_length=32, unique=True)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    billed_to = models.CharField(max_length=200)
    buyer_tin = models.CharField(max_length=20, blank=True)
    buyer_address = models.CharField(max_length=255, blank=True)
    # The seller as registered with the BIR when the receipt was issued (copied from settings: a receipt never
    # changes, even when the registration does).
    seller_name = models.CharField(max_length=200, blank=True)
    seller_address = models.CharField(max_length=255, blank=True)
    seller_tin = models.CharField(max_length=20, blank=True)
    seller_vat_registered = models.BooleanField(default=False)
    description = models.CharField(max_length=200, blank=True)
    amount_php = models.DecimalField(max_digits=12, decimal_places=2, help_text="Total amount due, VAT included")
    # VAT-registered seller: the total splits into VATable sales and VAT; non-VAT: the total is the sale, VAT 0.
    vatable_sales_php = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    vat_php = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    credits = _credits_field()
    method = models.CharField(max_length=24, choices=PaymentMethod.choices)
    reference = models.CharField(max_length=120, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        db_table = "accounts_receipt"
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["organization", "-issued_at"], name="receipt_org_issued")]
        constraints = [models.UniqueConstraint(fields=["year", "sequence"], name="receipt_unique_year_sequence")]

    def __str__(self) -> str:
        return self.number
