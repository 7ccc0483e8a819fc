"""Charging messages: one conditional UPDATE of the credit account instead of lock, read, then write.

`UPDATE ... SET balance = balance - total WHERE organization = ? AND balance >= total [AND the month's
segments fit] RETURNING balance` decides and writes in one statement. The row lock it takes lasts until the
caller's transaction ends, so a concurrent charge of the same organization waits, then re-evaluates the condition
against the committed balance (PostgreSQL's READ COMMITTED re-check): the balance can never go below zero, and the
ledger entries written after the UPDATE (same transaction, same lock) chain their `balance_after` from the
balance the UPDATE returned. When no row matches, nothing was written: the account is read once (unlocked) to
say why (insufficient credits, monthly limit, or no account yet, which is then opened and the charge retried).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Organization
from billing import tasks
from billing.errors import InsufficientCredits, MonthlyLimitReached
from billing.models import CreditAccount, LedgerEntry, LedgerEntryKind, PricePlan
from billing.money import message_price_for, quantize_credits
from billing.plan_cache import SendPricing, organization_plan_forget
from billing.selectors import send_pricing_read
from portal.errors import ApplicationError
from portal.sql import positional
from portal.timezone import month_start, next_month

# One statement: take the credits and count the segments only when both fit and the account still names the plan
# that priced them (`plan_id`; NULL: the default plan). `%(month)s` is the first day of the
# current month in Asia/Manila; usage of an older month counts as zero (the month rolled over).
_CHARGE_UPDATE = """
UPDATE accounts_creditaccount
   SET balance = balance - %(total)s,
       usage_segments = CASE WHEN usage_month = %(month)s THEN usage_segments + %(segments)s ELSE %(segments)s END,
       usage_month = %(month)s,
       updated_at = %(now)s
 WHERE organization_id = %(organization_id)s
   AND balance >= %(total)s
   AND (price_plan_id = %(plan_id)s OR (price_plan_id IS NULL AND CAST(%(plan_id)s AS bigint) IS NULL))
   AND (monthly_segment_limit IS NULL
        OR (CASE WHEN usage_month = %(month)s THEN usage_segments ELSE 0 END) + %(segments)s
           <= monthly_segment_limit)"""
_CHARGE_RETURNING = "\nRETURNING balance, low_balance_threshold, low_balance_alerted\n"
_CHARGE_SQL = _CHARGE_UPDATE + _CHARGE_RETURNING

# PostgreSQL: the same UPDATE and the ledger entries in one statement (a data-modifying WITH runs to completion
# whether or not the outer SELECT reads it). One entry per message, in the caller's order, each `balance_after`
# chained from the balance the UPDATE returned: entry i's is that balance plus the prices of the entries after it.
# When the UPDATE matches no row (refused), the INSERT has no row to read from and writes nothing.
_CHARGE_AND_LEDGER_SQL = (
    "WITH charged AS ("
    + _CHARGE_SQL
    + """),
entries AS (
INSERT INTO accounts_ledgerentry
       (organization_id, kind, amount, balance_after, segments, reason, message_id, created_at)
SELECT %(organization_id)s, %(kind)s, -item.price, charged.balance + item.later, item.segments, '', item.message_id,
       %(now)s
  FROM charged,
       unnest(%(message_ids)s::bigint[], %(prices)s::numeric[], %(later)s::numeric[], %(item_segments)s::integer[])
       WITH ORDINALITY AS item(message_id, price, later, segments, position)
 ORDER BY item.position
)
SELECT balance, low_balance_threshold, low_balance_alerted FROM charged
"""
)

# The entries of a charge made inside a caller's statement (`charge_clauses`): one per row of the caller's clause
# `{items}` (id, price, segments), in id order, each `balance_after` the balance the UPDATE left plus the prices of
# the entries after it.
_LEDGER_FROM_ITEMS = """entries AS (
INSERT INTO accounts_ledgerentry
       (organization_id, kind, amount, balance_after, segments, reason, message_id, created_at)
SELECT %(organization_id)s, %(kind)s, -item.price,
       charged.balance
       + COALESCE(SUM(item.price) OVER (ORDER BY item.id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
       item.segments, '', item.id, %(now)s
  FROM charged, {items} AS item
 ORDER BY item.id
)"""

# Arms the one low-balance e-mail; only the transaction that flips the flag enqueues it.
_ALERT_SQL = """
UPDATE accounts_creditaccount SET low_balance_alerted = %(true)s
 WHERE organization_id = %(organization_id)s AND low_balance_alerted = %(false)s
"""


def validated_items(message_ids_and_segments: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    items = [(message_id, segments) for message_id, segments in message_ids_and_segments]
    seen: set[int] = set()
    for message_id, segments in items:
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise ApplicationError(f"Message id {message_id!r} is not an integer.", code="invalid_message_id")
        if not isinstance(segments, int) or isinstance(segments, bool) or segments < 1:
            raise ApplicationError(
                f"Message {message_id} has {segments!r} segments; a message has at least one.",
                code="invalid_segments",
            )
        if message_id in seen:
            raise ApplicationError(f"Message {message_id} appears twice in one charge.", code="duplicate_message")
        seen.add(message_id)
    return items


def _account_open(*, organization: Organization) -> None:
    try:
        with transaction.atomic():
            CreditAccount.objects.create(organization=organization)
    except IntegrityError:  # opened meanwhile by a concurrent transaction
        pass


class PlanChanged(Exception):
    """The account names another plan than the one that priced the charge (read from a cache): price again."""


def _refusal(
    *, organization: Organization, plan: PricePlan, plan_id: int | None, total: Decimal, segments: int, month
) -> Exception | None:
    """Why the conditional UPDATE matched no row (read unlocked: nothing was written); None: no account yet."""
    account = CreditAccount.objects.filter(organization=organization).first()
    if account is None:
        return None
    if account.price_plan_id != plan_id:
        return PlanChanged()
    used = account.usage_segments if account.usage_month == month else 0
    limit = account.monthly_segment_limit
    if limit is not None and used + segments > limit:
        resets = next_month(month)
        return MonthlyLimitReached(
            f"Monthly limit reached: {used} of {limit} segments used this month; this send needs {segments} "
            f"more. The limit resets on {resets:%-d %B %Y} (Asia/Manila).",
            details={"used": used, "limit": limit, "requested": segments, "resets_on": resets.isoformat()},
        )
    return InsufficientCredits(
        f"Insufficient credits: the balance is {account.balance} credits and this send costs "
        f"{total} credits ({segments} segment{'s' if segments != 1 else ''} at {plan.price_per_segment}). "
        "Top up to send.",
        details={"balance": str(account.balance), "price": str(total), "segments": segments},
    )


def credits_take(
    *,
    organization: Organization,
    plan: PricePlan,
    total: Decimal,
    segments: int,
    now,
    account_plan_id: int | None = None,
    ledger: dict | None = None,
) -> tuple[Decimal, Decimal]:
    """Take `total` credits and count `segments` in one conditional UPDATE; (balance before, balance after).

    `account_plan_id`: the plan the account named when `plan` was chosen (None: none, the default plan).
    `ledger` (PostgreSQL only: message_ids, prices, later, item_segments) writes the charge entries in the same
    statement. Raises InsufficientCredits or MonthlyLimitReached, or PlanChanged when the account names another
    plan now, having written nothing. The account row stays locked until the caller's transaction ends."""
    month = month_start(now)
    plan_id = account_plan_id
    params = {
        "total": total,
        "segments": segments,
        "month": month,
        "now": now,
        "organization_id": organization.pk,
        "plan_id": plan_id,
    }
    sql = _CHARGE_SQL
    if ledger is not None:
        sql = _CHARGE_AND_LEDGER_SQL
        params.update(ledger, kind=LedgerEntryKind.CHARGE.value)
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None:
            break
        refusal = _refusal(
            organization=organization, plan=plan, plan_id=plan_id, total=total, segments=segments, month=month
        )
        if refusal is not None:
            raise refusal
        _account_open(organization=organization)
    else:  # pragma: no cover - the account was just opened
        raise RuntimeError("credit account missing after opening it")
    balance_after = charge_taken(organization=organization, balance=row[0], threshold=row[1], alerted=row[2])
    return balance_after + total, balance_after


def charge_clauses(
    *,
    organization: Organization,
    pricing: SendPricing,
    total: Decimal,
    segments: int,
    now,
    only_if: str,
    items: str,
) -> tuple[tuple[str, list], tuple[str, list]]:
    """The charge as two WITH clauses of a caller's statement (PostgreSQL), each (SQL, positional parameters):

    - `charged`: the conditional UPDATE of `credits_take` (`total` credits, `segments` counted, the plan `pricing`
      was read with), made only when the caller's clause `only_if` has a row; it returns the account's balance,
      low_balance_threshold and low_balance_alerted, and no row when refused (nothing written);
    - `entries`: one charge entry per row of the caller's clause `items`, which must read `charged` (so that it
      has no row when the charge was refused) and have the columns id (the message), price and segments.

    The caller reads `charged` in its final SELECT and hands the row to `charge_taken`; when it has no row, the
    caller charges again through `message_charge`, which says why (or opens the account)."""
    params = {
        "total": total,
        "segments": segments,
        "month": month_start(now),
        "now": now,
        "organization_id": organization.pk,
        "plan_id": pricing.account_plan_id,
        "kind": LedgerEntryKind.CHARGE.value,
    }
    # `only_if` and `items` are the caller's clause names, never input.
    charged = f"charged AS ({_CHARGE_UPDATE}\n   AND EXISTS (SELECT 1 FROM {only_if}){_CHARGE_RETURNING})"  # noqa: S608
    return positional(charged, params), positional(_LEDGER_FROM_ITEMS.format(items=items), params)


def charge_taken(*, organization: Organization, balance, threshold, alerted) -> Decimal:
    """After a charge wrote its row (`balance`, `threshold` and `alerted` as the UPDATE returned them): the balance
    left, and the low-balance e-mail armed (sent after the commit) when the charge crossed the threshold."""
    # SQLite hands numbers back as floats; the balance has two decimals either way.
    balance_after = quantize_credits(Decimal(str(balance)))
    if threshold is not None and not alerted and balance_after < quantize_credits(Decimal(str(threshold))):
        with connection.cursor() as cursor:
            cursor.execute(_ALERT_SQL, {"true": True, "false": False, "organization_id": organization.pk})
            flipped = cursor.rowcount == 1
        if flipped:
            transaction.on_commit(partial(tasks.low_balance_alert_send.enqueue, organization_id=organization.pk))
    return balance_after


def message_charge(
    *,
    organization: Organization,
    message_ids_and_segments: list[tuple[int, int]],
    account: CreditAccount | None = None,
    pricing: SendPricing | None = None,
) -> dict[int, Decimal]:
    """Charge every message (id, segments) at once, one ledger entry per message; returns each message's price.

    Runs inside the caller's transaction (the one that stores the messages), so a send that fails later rolls
    the charge back with it. Raises MonthlyLimitReached or InsufficientCredits and writes nothing if the
    whole batch does not fit. Prices are rounded per message (see `money.py`). `account`, when given, only
    supplies the price plan already read; `pricing` (possibly cached) the plan and the plan the account named:
    when the account names another plan by the time of the charge, the messages are priced again with it."""
    # No transaction of its own (a savepoint would cost two round trips on every send): it joins the caller's.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("message_charge() must run inside the transaction that stores the messages.")
    items = validated_items(message_ids_and_segments)
    if not items:
        return {}
    if account is not None and account.organization_id != organization.id:
        raise ValueError("message_charge() was given another organization's credit account.")
    if pricing is None:
        pricing = send_pricing_read(organization=organization, account=account)
    try:
        return _charge(organization=organization, items=items, pricing=pricing)
    except PlanChanged:
        organization_plan_forget(organization_id=organization.pk)
        return _charge(organization=organization, items=items, pricing=send_pricing_read(organization=organization))


def _charge(*, organization: Organization, items: list[tuple[int, int]], pricing: SendPricing) -> dict[int, Decimal]:
    plan = pricing.plan
    prices = {
        message_id: message_price_for(segments=segments, price_per_segment=plan.price_per_segment)
        for message_id, segments in items
    }
    total_price = sum(prices.values(), Decimal("0.00"))
    total_segments = sum(segments for _, segments in items)
    now = timezone.now()
    charge = partial(
        credits_take,
        organization=organization,
        plan=plan,
        total=total_price,
        segments=total_segments,
        now=now,
        account_plan_id=pricing.account_plan_id,
    )
    if connection.vendor == "postgresql":
        # The charge and its entries in one round trip (one statement whatever the number of messages).
        later, remaining = [], total_price
        for message_id, _ in items:
            remaining -= prices[message_id]
            later.append(remaining)
        charge(
            ledger={
                "message_ids": [message_id for message_id, _ in items],
                "prices": [prices[message_id] for message_id, _ in items],
                "later": later,
                "item_segments": [segments for _, segments in items],
            }
        )
        return prices
    balance, _ = charge()
    entries = []
    for message_id, segments in items:
        balance -= prices[message_id]
        entries.append(
            LedgerEntry(
                organization_id=organization.id,
                kind=LedgerEntryKind.CHARGE,
                amount=-prices[message_id],
                balance_after=balance,
                segments=segments,
                message_id=message_id,
                created_at=now,
            )
        )
    LedgerEntry.objects.bulk_create(entries, batch_size=1000)
    return prices
