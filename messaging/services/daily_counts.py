"""Keeping `MessageDailyCount` exact: every message created and every status change moves a count, in the
transaction that writes the message, by an atomic `INSERT ... ON CONFLICT DO UPDATE SET messages = messages + x`
(never a read then a write: concurrent workers add to the same rows). Each change moves the messages' count and
their credits (the sum of their `price`) together.

`status_set` (messaging.services.status) reports each change it makes to a message instance; the caller saves
the instance in the same transaction. Inside `counts_collected()` the changes are gathered and written by one
statement when the block ends, rows in key order: a dispatch batch of a thousand messages costs one statement,
and transactions that take the same count rows take them in the same order, after every other lock they take
(the block ends last), so two of them cannot wait for each other. Outside such a block each change is written
at once.

Each count also says whether the route that carried its messages reports handset receipts (`receipts`): a message
is counted without a route while it waits (queued, sending: no provider is set on it before one accepts it) and
under its provider's from the change that sets the provider (accepted: `sent` or `delivered`) on; the provider
does not change after that. A provider whose adapter is changed to one that reports receipts differently needs
`message_daily_counts_rebuild`.

`daily_counts_rebuild` recounts from the messages (the migration that adds the table, and after messages were
written around the services, e.g. by a bulk import in SQL).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, Count, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate

from messaging.models import Message, MessageStatus, Provider
from messaging.models_stats import MessageDailyCount
from messaging.ui_selectors import adapter_reports_receipts, providers_without_receipts
from portal.timezone import operator_tz

# (organization id, Manila day of creation, status, whether its route reports receipts, network, channel, route id
# or 0 while it has none)
CountKey = tuple[int, date, str, bool, str, str, int]

_TABLE = MessageDailyCount._meta.db_table
_COLUMNS = "(organization_id, day, status, receipts, network, channel, route, messages, credits)"
# Adds to a count that exists already.
_ON_CONFLICT_ADD = (
    "ON CONFLICT (organization_id, day, status, receipts, network, channel, route) "
    f"DO UPDATE SET messages = {_TABLE}.messages + excluded.messages, credits = {_TABLE}.credits + excluded.credits"
)
_UPSERT = f"INSERT INTO {_TABLE} {_COLUMNS} VALUES {{values}} {_ON_CONFLICT_ADD}"  # noqa: S608 - values are parameters
# The same upsert inside a caller's statement: the rows as one JSON array (in key order, the order rows are locked
# in), written only when the caller's clause `{after}` has a row.
_CREATED_AFTER = (
    f"counted AS (INSERT INTO {_TABLE} {_COLUMNS} "  # noqa: S608 - values are parameters
    "SELECT (r->>0)::bigint, (r->>1)::date, r->>2, (r->>3)::boolean, r->>4, r->>5, (r->>6)::integer, "
    "(r->>7)::bigint, (r->>8)::numeric "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS item(r, position) "
    "WHERE EXISTS (SELECT 1 FROM {after}) ORDER BY position "
    + _ON_CONFLICT_ADD  # no braces in it: safe for the `format` that fills in `after`
    + ")"
)
# Statuses of a message no provider has accepted yet: it carries no provider then (see the module docstring).
_WAITING = frozenset({MessageStatus.QUEUED, MessageStatus.SENDING})


class CountChanges:
    """Changes to the counts: messages and credits to add, per count key."""

    __slots__ = ("credits", "messages")

    def __init__(self) -> None:
        self.messages: Counter = Counter()
        self.credits: Counter = Counter()  # Decimal values

    def add(self, key: CountKey, messages: int, credits: Decimal) -> None:
        self.messages[key] += messages
        if credits:
            self.credits[key] += credits

    def update(self, other: CountChanges) -> None:
        self.messages.update(other.messages)
        self.credits.update(other.credits)

    def copy(self) -> CountChanges:
        copied = CountChanges()
        copied.update(self)
        return copied

    def clear(self) -> None:
        self.messages.clear()
        self.credits.clear()

    def rows(self) -> list[tuple[CountKey, int, Decimal]]:
        """(key, messages, credits) of the keys that change, in key order (the order rows are locked in)."""
        keys = sorted(
            key for key in self.messages.keys() | self.credits.keys() if self.messages[key] or self.credits[key]
        )
        return [(key, self.messages[key], self.credits[key] or Decimal(0)) for key in keys]


_pending: ContextVar[CountChanges | None] = ContextVar("message_daily_count_changes", default=None)


def creation_day(created_at: datetime) -> date:
    return created_at.astimezone(operator_tz()).date()


def _receipts(message: Message) -> bool:
    """Whether the message's route (as set on the instance now) reports receipts; no route counts as one that does.
    The services set the provider instance when they set it (no query); otherwise its adapter is read once."""
    if message.provider_id is None:
        return True
    provider = message.provider if Message.provider.is_cached(message) else None
    if provider is not None and provider.pk == message.provider_id:
        return adapter_reports_receipts(provider.adapter)
    adapter = Provider.objects.filter(pk=message.provider_id).values_list("adapter", flat=True).first()
    return adapter is None or adapter_reports_receipts(adapter)


def _moved(changes: CountChanges, message: Message, old_status: str, new_status: str, *, day: date, receipts: bool):
    """Add one message's move to `changes`: out of the count it was in, into the one it is in now. While it waited it
    was counted with no route (see the module docstring); from the change that sets its route on, under that route."""
    route = message.provider_id or 0
    old_receipts, old_route = (True, 0) if old_status in _WAITING else (receipts, route)
    organization_id, network, channel, price = message.organization_id, message.network, message.channel, message.price
    changes.add((organization_id, day, old_status, old_receipts, network, channel, old_route), -1, -price)
    changes.add((organization_id, day, new_status, receipts, network, channel, route), 1, price)


def _key(message: Message) -> CountKey:
    """The count a message is in now."""
    return (
        message.organization_id,
        creation_day(message.created_at),
        message.status,
        _receipts(message),
        message.network,
        message.channel,
        message.provider_id or 0,
    )


def count_status_moved(message: Message, old_status: str, new_status: str) -> None:
    """One saved message left `old_status` for `new_status` (written with the caller's transaction). Call it with the
    provider the message has after the change already set on the instance (the accepting route)."""
    if old_status == new_status or message.pk is None or message._state.adding:
        return  # not stored yet: `messages_created` counts it in the status it is stored with
    changes = CountChanges()
    day = creation_day(message.created_at)
    _moved(changes, message, old_status, new_status, day=day, receipts=_receipts(message))
    _add(changes)


def count_statuses_moved(messages: Iterable[Message], new_status: str) -> None:
    """`count_status_moved` for a batch moving to one status, each from the status it has on its instance (call it
    before setting the new one): one pass, the route's receipts asked once per provider and the day once per
    creation time, instead of both per message (a dispatch claim or outcome is a thousand messages)."""
    changes = CountChanges()
    receipts_by_provider: dict[int | None, bool] = {None: True}
    tz = operator_tz()
    days: dict[datetime, date] = {}  # the messages of one send share their creation time
    for message in messages:
        old_status = message.status
        if old_status == new_status or message.pk is None or message._state.adding:
            continue  # as in count_status_moved
        receipts = receipts_by_provider.get(message.provider_id)
        if receipts is None:
            receipts = receipts_by_provider[message.provider_id] = _receipts(message)
        day = days.get(message.created_at)
        if day is None:
            day = days[message.created_at] = message.created_at.astimezone(tz).date()
        _moved(changes, message, old_status, new_status, day=day, receipts=receipts)
    _add(changes)


def count_repriced(message: Message, old_price: Decimal) -> None:
    """A stored message's `price` changed from `old_price` to what it holds now (the charge priced it otherwise than
    the send did): its count's credits move by the difference, in the caller's transaction."""
    difference = message.price - old_price
    if difference:
        changes = CountChanges()
        changes.add(_key(message), 0, difference)
        _add(changes)


def messages_created(messages: Iterable[Message]) -> None:
    """Messages just inserted, each counted in the status it was stored with."""
    _add(_created_changes(messages))


def messages_created_statement(messages: Iterable[Message]) -> tuple[str, list] | None:
    """`messages_created` for messages about to be inserted, as a statement the caller runs in the same transaction
    (`message_store.messages_insert` puts it in front of the messages' INSERT: one round trip for both). Inside a
    `counts_collected` block the changes join the block instead and None is returned."""
    changes = _created_changes(messages)
    pending = _pending.get()
    if pending is not None:
        pending.update(changes)
        return None
    return _upsert_statement(changes)


def messages_created_clause(messages: Iterable[Message], *, after: str) -> tuple[str, list] | None:
    """`messages_created` as a WITH clause `counted` of a caller's statement (PostgreSQL; SQL, parameters), run
    only when the caller's clause `after` has a row: the caller makes `after` the messages' INSERT, which waits
    for the charge, so the count rows stay the last rows the statement locks. None inside a `counts_collected`
    block (the caller must write its own way then) or when nothing changes."""
    if _pending.get() is not None:
        return None
    rows = _created_changes(messages).rows()
    if not rows:
        return None
    values = [
        [organization_id, day.isoformat(), status, receipts, network, channel, route, count, str(credits)]
        for (organization_id, day, status, receipts, network, channel, route), count, credits in rows
    ]
    return _CREATED_AFTER.format(after=after), [json.dumps(values)]


def _created_changes(messages: Iterable[Message]) -> CountChanges:
    changes = CountChanges()
    for message in messages:
        changes.add(_key(message), 1, message.price)
    return changes


@contextlib.contextmanager
def counts_collected() -> Iterator[None]:
    """Gather the count changes made inside the block and write them in one statement as it ends (inside the
    caller's transaction: open it within `transaction.atomic()`, after nothing else that locks). Nested blocks
    join the outermost; nothing is written when the block raises (the transaction rolls back anyway)."""
    if _pending.get() is not None:
        yield
        return
    changes = CountChanges()
    token = _pending.set(changes)
    try:
        yield
    finally:
        _pending.reset(token)
    _write(changes)


def pending_mark() -> CountChanges | None:
    """The changes gathered so far by the enclosing `counts_collected` block (a copy; None outside one), for
    `pending_restore` after a savepoint is rolled back."""
    pending = _pending.get()
    return pending.copy() if pending is not None else None


def pending_restore(mark: CountChanges | None) -> None:
    """Forget the changes gathered since `pending_mark`: the writes they counted were rolled back to a savepoint,
    so they must not be counted when the block ends. (Outside a block each change was written at once, and the
    savepoint's rollback undid it.)"""
    pending = _pending.get()
    if pending is not None and mark is not None:
        pending.clear()
        pending.update(mark)


def _add(changes: CountChanges) -> None:
    pending = _pending.get()
    if pending is None:
        _write(changes)
    else:
        pending.update(changes)


def _write(changes: CountChanges) -> None:
    statement = _upsert_statement(changes)
    if statement is not None:
        with connection.cursor() as cursor:
            cursor.execute(*statement)


def _upsert_statement(changes: CountChanges) -> tuple[str, list] | None:
    rows = changes.rows()
    if not rows:
        return None
    adapt_day = connection.ops.adapt_datefield_value
    adapt_credits = connection.ops.adapt_decimalfield_value
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for (organization_id, day, status, receipts, network, channel, route), messages, credits in rows:
        params += [organization_id, adapt_day(day), status, receipts, network, channel, route, messages]
        params.append(adapt_credits(credits))
    return _UPSERT.format(values=placeholders), params


@transaction.atomic
def daily_counts_rebuild(*, organization_id: int | None = None) -> int:
    """Recount every organization's (or one's) daily counts from its messages; returns the rows written.

    On PostgreSQL the count table is locked against writers first, so a transaction that changes messages while
    this runs adds its changes after the recount, on top of it, and none is lost or counted twice."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_TABLE} IN SHARE ROW EXCLUSIVE MODE")
    counts = MessageDailyCount.objects.unscoped()  # a recount spans organizations; filtered below when asked
    messages = Message.objects.unscoped()  # idem
    if organization_id is not None:
        counts = counts.filter(organization_id=organization_id)
        messages = messages.filter(organization_id=organization_id)
    counts.delete()
    without_receipts = providers_without_receipts()
    receipts = Case(When(provider_id__in=without_receipts, then=Value(False)), default=Value(True))
    rows = [
        MessageDailyCount(
            organization_id=row["organization_id"],
            day=row["day"],
            status=row["status"],
            receipts=row["with_receipts"],
            network=row["network"],
            channel=row["channel"],
            route=row["route"],
            messages=row["n"],
            credits=row["credits"] or 0,
        )
        for row in messages.annotate(
            day=TruncDate("created_at", tzinfo=operator_tz()), with_receipts=receipts, route=Coalesce("provider_id", 0)
        )
        .values("organization_id", "day", "status", "with_receipts", "network", "channel", "route")
        .annotate(n=Count("id"), credits=Sum("price"))
        .order_by()
    ]
    MessageDailyCount.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
