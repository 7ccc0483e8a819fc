"""Reads for billing. Every organization-owned read takes `organization=` and filters by it in the query, so
another organization's entry, payment or receipt raises NotFound exactly like a missing one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, QuerySet, Sum

from accounts.models import Membership, Organization
from accounts.roles import Role
from billing.models import (
    CreditAccount,
    CreditPack,
    LedgerEntry,
    LedgerEntryKind,
    Payment,
    PricePlan,
    Receipt,
)
from billing.money import message_price_for, quantize_credits
from billing.plan_cache import SendPricing, default_plan_cached, organization_plan_cached
from portal import hooks
from portal.errors import ApplicationError, NotFound
from portal.timezone import month_bounds, month_start

ZERO = Decimal("0.00")


# --- Calendar months (the operator's, see portal.timezone) ---


def parse_month(raw: str | None) -> date:
    """'2026-11' -> date(2026, 11, 1); empty -> the current month; anything else -> a clear error."""
    if not raw:
        return month_start()
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise ApplicationError(f"{raw!r} is not a month; use YYYY-MM, e.g. 2026-11.", code="invalid_month")


# --- Plans, prices, balance, usage ---


def price_plan_default() -> PricePlan:
    """The default plan; until staff create one, an unsaved plan built from the billing settings. Cached for a few
    seconds (`billing.plan_cache`): every send of an organization without a plan of its own prices with it."""
    return default_plan_cached(_price_plan_default_read)


def _price_plan_default_read() -> PricePlan:
    plan = PricePlan.objects.filter(is_default=True).first()
    if plan is None:
        plan = PricePlan(
            name="Default",
            price_per_segment=Decimal(settings.BILLING_DEFAULT_PRICE_PER_SEGMENT),
            credit_price_php=Decimal(settings.BILLING_DEFAULT_CREDIT_PRICE_PHP),
            is_default=True,
        )
    return plan


def price_plan_for(*, organization: Organization, account: CreditAccount | None = None) -> PricePlan:
    """The plan that prices this organization's messages. Given an account, the answer is kept on it, so pricing
    and charging one send (which share the locked account) read the default plan once."""
    if account is not None and hasattr(account, "_resolved_price_plan"):
        return account._resolved_price_plan
    if account is None:
        account = CreditAccount.objects.select_related("price_plan").filter(organization=organization).first()
    if account is not None and account.price_plan_id is not None:
        plan = account.price_plan
    else:
        plan = price_plan_default()
    if account is not None:
        account._resolved_price_plan = plan
    return plan


def send_pricing_read(*, organization: Organization, account: CreditAccount | None = None) -> SendPricing:
    """The plan pricing the organization's sends and the plan its account names, read now (`account`: already
    read)."""
    if account is None:
        account = CreditAccount.objects.select_related("price_plan").filter(organization=organization).first()
    plan = price_plan_for(organization=organization, account=account)
    return SendPricing(plan=plan, account_plan_id=account.price_plan_id if account is not None else None)


def send_pricing_cached(*, organization: Organization) -> SendPricing:
    """`send_pricing_read`, possibly a few seconds old (`billing.plan_cache`). The charge checks under the account's
    lock that the account still names that plan and prices again when not (`billing.charging`)."""
    return organization_plan_cached(
        organization_id=organization.pk, load=lambda: send_pricing_read(organization=organization)
    )


def credit_pack_price(*, organization: Organization, pack: CreditPack, account: CreditAccount | None = None) -> Decimal:
    """What the pack costs this organization: its credits at the plan's PHP per credit, to the centavo."""
    plan = price_plan_for(organization=organization, account=account)
    return quantize_credits(pack.credits * plan.credit_price_php)


def credit_pack_offers(*, organization: Organization, account: CreditAccount | None = None) -> list[dict]:
    """The packs on sale, each with its peso price for this organization, cheapest first as staff ordered them."""
    return [
        {"pack": pack, "price_php": credit_pack_price(organization=organization, pack=pack, account=account)}
        for pack in CreditPack.objects.filter(is_active=True)
    ]


def message_price(*, organization: Organization, segments: int, account: CreditAccount | None = None) -> Decimal:
    plan = price_plan_for(organization=organization, account=account)
    return message_price_for(segments=segments, price_per_segment=plan.price_per_segment)


def credit_account_get(*, organization: Organization) -> CreditAccount | None:
    return CreditAccount.objects.select_related("price_plan").filter(organization=organization).first()


def balance_get(*, organization: Organization) -> Decimal:
    balance = CreditAccount.objects.filter(organization=organization).values_list("balance", flat=True).first()
    return balance if balance is not None else ZERO


def usage_from_account(account: CreditAccount | None) -> tuple[int, int | None]:
    if account is None:
        return 0, None
    used = account.usage_segments if account.usage_month == month_start() else 0
    return used, account.monthly_segment_limit


def monthly_usage(*, organization: Organization) -> tuple[int, int | None]:
    """(segments used this calendar month in Asia/Manila, limit or None). Refunded segments do not count."""
    return usage_from_account(credit_account_get(organization=organization))


def billing_summary(*, organization: Organization) -> dict:
    """Balance and monthly usage for the dashboard home (two queries at most)."""
    account = credit_account_get(organization=organization)
    used, limit = usage_from_account(account)
    return {
        "balance": account.balance if account is not None else ZERO,
        "used_this_month": used,
        "monthly_limit": limit,
        "usage_percent": min(100, round(used * 100 / limit)) if limit else None,
        "low_balance": account is not None
        and account.low_balance_threshold is not None
        and account.balance < account.low_balance_threshold,
    }


def usage_from_ledger(*, organization_id: int, month: date) -> int:
    """Segments charged in `month` minus the refunds of those same messages: what `usage_segments` caches."""
    start, end = month_bounds(month)
    charges = LedgerEntry.objects.filter(
        organization_id=organization_id,
        kind=LedgerEntryKind.CHARGE,
        created_at__gte=start,
        created_at__lt=end,
    )
    charged = charges.aggregate(total=Sum("segments"))["total"] or 0
    refunded = (
        LedgerEntry.objects.filter(
            organization_id=organization_id,
            kind=LedgerEntryKind.REFUND,
            message_id__in=charges.values("message_id"),
        ).aggregate(total=Sum("segments"))["total"]
        or 0
    )
    return charged - refunded


# --- Lists and details for pages and the API ---


def ledger_entry_list(*, organization: Organization, kind: str | None = None) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.filter(organization=organization).select_related("actor", "payment")
    if kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("-id")


def ledger_entry_get(*, organization: Organization, entry_id: int) -> LedgerEntry:
    entry = ledger_entry_list(organization=organization).filter(id=entry_id).first()
    if entry is None:
        raise NotFound("No such ledger entry.")
    return entry


def payment_list(*, organization: Organization) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(organization=organization)
        .select_related("receipt", "recorded_by")
        .order_by("-created_at", "-id")
    )


def payment_get(*, organization: Organization, payment_id: int) -> Payment:
    payment = payment_list(organization=organization).filter(id=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    return payment


def receipt_list(*, organization: Organization) -> QuerySet[Receipt]:
    return Receipt.objects.filter(organization=organization).select_related("payment").order_by("-issued_at", "-id")


def receipt_get(*, organization: Organization, number: str) -> Receipt:
    receipt = receipt_list(organization=organization).filter(number=number).first()
    if receipt is None:
        raise NotFound("No such receipt.")
    return receipt


def low_balance_recipients(*, organization: Organization) -> list[str]:
    return list(
        Membership.objects.filter(
            organization=organization, role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
        ).values_list("user__email", flat=True)
    )


# --- Monthly statement ---


@dataclass
class Statement:
    organization: Organization
    month: date
    opening_balance: Decimal
    closing_balance: Decimal
    totals: dict[str, Decimal]  # credits per ledger kind (signed as in the ledger)
    segments_charged: int
    segments_refunded: int
    topups: list[LedgerEntry]
    traffic: list[dict] = field(default_factory=list)  # per network and provider
    traffic_available: bool = True

    @property
    def credits_charged(self) -> Decimal:
        return abs(self.totals[LedgerEntryKind.CHARGE])  # abs, not minus: -Decimal("0.00") prints "-0.00"

    @property
    def credits_refunded(self) -> Decimal:
        return self.totals[LedgerEntryKind.REFUND]

    @property
    def credits_topped_up(self) -> Decimal:
        return self.totals[LedgerEntryKind.TOPUP]

    @property
    def credits_expired(self) -> Decimal:
        return abs(self.totals[LedgerEntryKind.EXPIRY])

    @property
    def net_change(self) -> Decimal:
        return sum(self.totals.values(), ZERO)


def statement_get(*, organization: Organization, month: date) -> Statement:
    start, end = month_bounds(month)
    in_month = LedgerEntry.objects.filter(organization=organization, created_at__gte=start, created_at__lt=end)
    rows = {
        row["kind"]: row
        for row in in_month.values("kind").annotate(credits=Sum("amount"), segment_total=Sum("segments")).order_by()
    }
    # Sums are re-quantized: SQLite returns Decimal("8") for a sum of 8.00s.
    totals = {
        kind: quantize_credits(rows[kind]["credits"]) if kind in rows else ZERO for kind in LedgerEntryKind.values
    }
    before = (
        LedgerEntry.objects.filter(organization=organization, created_at__lt=start)
        .order_by("-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    opening = before if before is not None else ZERO
    last_in_month = in_month.order_by("-id").values_list("balance_after", flat=True).first()
    closing = last_in_month if last_in_month is not None else opening
    topups = list(in_month.filter(kind=LedgerEntryKind.TOPUP).select_related("payment__receipt").order_by("id"))
    # Messaging knows the traffic (it sits above billing): asked through a hook, answered by messaging.
    traffic, available = hooks.traffic_by_network_and_provider(organization_id=organization.id, start=start, end=end)
    return Statement(
        organization=organization,
        month=month,
        opening_balance=opening,
        closing_balance=closing,
        totals=totals,
        segments_charged=rows.get(LedgerEntryKind.CHARGE, {}).get("segment_total") or 0,
        segments_refunded=rows.get(LedgerEntryKind.REFUND, {}).get("segment_total") or 0,
        topups=topups,
        traffic=traffic,
        traffic_available=available,
    )


# --- Audit: the balance shown anywhere equals the sum of the ledger ---


def billing_audit_differences() -> list[str]:
    """Every difference between balances, ledger sums, the balance_after chain and the cached monthly usage.

    Aggregates per organization, then one streamed pass over the ledger for the balance_after chain.
    """
    differences: list[str] = []
    # The audit checks every organization at once: the queries below are deliberately unscoped.
    sums = {
        row["organization_id"]: row
        for row in LedgerEntry.objects.unscoped()
        .values("organization_id")
        .annotate(total=Sum("amount"), entries=Count("id"))
        .order_by()
    }
    last_after = dict(
        LedgerEntry.objects.unscoped()
        .filter(id__in=LedgerEntry.objects.unscoped().values("organization_id").annotate(last=Max("id")).values("last"))
        .values_list("organization_id", "balance_after")
    )
    accounts = {
        account.organization_id: account
        for account in CreditAccount.objects.unscoped().select_related("organization").order_by("organization_id")
    }
    slugs = dict(Organization.objects.filter(id__in=set(sums) | set(accounts)).values_list("id", "slug"))
    current_month = month_start()
    for organization_id in sorted(set(sums) | set(accounts)):
        slug = slugs.get(organization_id, f"#{organization_id}")
        ledger_total = quantize_credits(sums[organization_id]["total"]) if organization_id in sums else ZERO
        account = accounts.get(organization_id)
        balance = account.balance if account is not None else ZERO
        if account is None:
            differences.append(f"{slug}: ledger sums to {ledger_total} but there is no credit account row")
        elif balance != ledger_total:
            differences.append(
                f"{slug}: balance {balance} != ledger sum {ledger_total} (difference {balance - ledger_total})"
            )
        if organization_id in last_after and last_after[organization_id] != ledger_total:
            differences.append(
                f"{slug}: last entry's balance_after {last_after[organization_id]} != ledger sum {ledger_total}"
            )
        if account is not None and account.usage_month == current_month:
            derived = usage_from_ledger(organization_id=organization_id, month=current_month)
            if derived != account.usage_segments:
                differences.append(
                    f"{slug}: usage this month {account.usage_segments} segments != ledger {derived} segments"
                )
    # The chain is walked in Python, streamed: SQLite does decimal arithmetic in floating point, so an SQL
    # "previous + amount" comparison there would report rounding noise as differences.
    previous_org, running = None, ZERO
    chain = (
        LedgerEntry.objects.unscoped()
        .order_by("organization_id", "id")
        .values_list("organization_id", "id", "amount", "balance_after")
        .iterator(chunk_size=5000)
    )
    for organization_id, entry_id, amount, balance_after in chain:
        if organization_id != previous_org:
            previous_org, running = organization_id, ZERO
        running += amount
        if balance_after != running:
            differences.append(
                f"{slugs.get(organization_id, organization_id)}: entry {entry_id} says "
                f"balance_after {balance_after}, "
                f"the entries up to it sum to {running}"
            )
            running = balance_after  # report each break once, not every entry after it
    return differences


__all__ = [
    "Statement",
    "balance_get",
    "billing_audit_differences",
    "billing_summary",
    "credit_account_get",
    "ledger_entry_get",
    "ledger_entry_list",
    "message_price",
    "monthly_usage",
    "parse_month",
    "payment_get",
    "payment_list",
    "send_pricing_cached",
    "send_pricing_read",
    "price_plan_default",
    "price_plan_for",
    "receipt_get",
    "receipt_list",
    "statement_get",
]
