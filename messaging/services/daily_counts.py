"""Keeping `MessageDailyCount` exact: every message created and every status change moves a count, in the
transaction that writes the message, by an atomic `INSERT ... ON CONFLICT DO UPDATE SET messages = messages + x`
(never a read then a write: concurrent workers add to the same rows).

`status_set` (messaging.services.status) reports each change it makes to a message instance; the caller saves
the instance in the same transaction. Inside `counts_collected()` the changes are gathered and written by one
statement when the block ends, rows in key order: a dispatch batch of a thousand messages costs one statement,
and transactions that take the same count rows take them in the same order, after every other lock they take
(the block ends last), so two of them cannot wait for each other. Outside such a block each change is written
at once.

`daily_counts_rebuild` recounts from the messages (the migration that adds the table, and after messages were
written around the services, e.g. by a bulk import in SQL).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from messaging.models import Message
from messaging.models_stats import MessageDailyCount
from portal.timezone import operator_tz

CountKey = tuple[int, date, str]  # (organization id, Manila day of creation, status)

_TABLE = MessageDailyCount._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (organization_id, day, status, messages) VALUES {{values}} "  # noqa: S608 - values are parameters
    f"ON CONFLICT (organization_id, day, status) DO UPDATE SET messages = {_TABLE}.messages + excluded.messages"
)
_pending: ContextVar[Counter | None] = ContextVar("message_daily_count_changes", default=None)


def creation_day(created_at: datetime) -> date:
    return created_at.astimezone(operator_tz()).date()


def count_status_moved(message: Message, old_status: str, new_status: str) -> None:
    """One saved message left `old_status` for `new_status` (written with the caller's transaction)."""
    if old_status == new_status or message.pk is None or message._state.adding:
        return  # not stored yet: `messages_created` counts it in the status it is stored with
    day = creation_day(message.created_at)
    _add({(message.organization_id, day, old_status): -1, (message.organization_id, day, new_status): 1})


def messages_created(messages: Iterable[Message]) -> None:
    """Messages just inserted, each counted in the status it was stored with."""
    changes: Counter = Counter()
    for message in messages:
        changes[(message.organization_id, creation_day(message.created_at), message.status)] += 1
    _add(changes)


@contextlib.contextmanager
def counts_collected() -> Iterator[None]:
    """Gather the count changes made inside the block and write them in one statement as it ends (inside the
    caller's transaction: open it within `transaction.atomic()`, after nothing else that locks). Nested blocks
    join the outermost; nothing is written when the block raises (the transaction rolls back anyway)."""
    if _pending.get() is not None:
        yield
        return
    changes: Counter = Counter()
    token = _pending.set(changes)
    try:
        yield
    finally:
        _pending.reset(token)
    _write(changes)


def _add(changes: dict[CountKey, int]) -> None:
    pending = _pending.get()
    if pending is None:
        _write(changes)
    else:
        pending.update(changes)


def _write(changes: dict[CountKey, int]) -> None:
    rows = sorted((key, delta) for key, delta in changes.items() if delta)
    if not rows:
        return
    adapt = connection.ops.adapt_datefield_value
    placeholders = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    params: list = []
    for (organization_id, day, status), delta in rows:
        params += [organization_id, adapt(day), status, delta]
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(values=placeholders), params)


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
    rows = [
        MessageDailyCount(
            organization_id=row["organization_id"], day=row["day"], status=row["status"], messages=row["n"]
        )
        for row in messages.annotate(day=TruncDate("created_at", tzinfo=operator_tz()))
        .values("organization_id", "day", "status")
        .annotate(n=Count("id"))
        .order_by()
    ]
    MessageDailyCount.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
