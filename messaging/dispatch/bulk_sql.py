"""The dispatcher's bulk writes as single PostgreSQL statements.

A claimed batch is up to a thousand rows that change alike except for a value or two per row (the attempt's id,
the provider's message id). Django's `bulk_update` writes that as a `CASE WHEN id = ... THEN ...` per row and
field, which costs more to build and to run than the provider call takes, and `bulk_create` binds every field of
every row. Here each table gets one statement per batch, the rows' values passed as one array per column:
`INSERT ... SELECT ... FROM unnest(...)` (PostgreSQL's VALUES list for arrays: a dozen parameters instead of
fourteen thousand), and `UPDATE ... WHERE id = ANY(ids)` that finds each row's value by its position in the
arrays. The conditions that make a write safe (attempt still in flight, message still sending) are in the
statements themselves, so a row settled meanwhile by the reconcile job is left alone.

PostgreSQL only (`available()`); `claim` and `outcome` keep an ORM path for other databases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus

_ATTEMPT = DispatchAttempt._meta.db_table
_MESSAGE = Message._meta.db_table


def available() -> bool:
    return connection.vendor == "postgresql"


_ATTEMPTS_IN_FLIGHT = f"""
INSERT INTO {_ATTEMPT} (message_id, provider_id, attempt_number, status, sender_name, reason, skipped, batch_id,
                        provider_message_id, error_code, error_message, started_at, finished_at)
SELECT v.message_id, v.provider_id, v.attempt_number, %(in_flight)s, v.sender_name, v.reason, v.skipped::jsonb,
       %(batch_id)s, '', '', '', %(started_at)s, NULL
FROM unnest(%(message_ids)s::bigint[], %(provider_ids)s::bigint[], %(attempt_numbers)s::smallint[],
            %(sender_names)s::text[], %(reasons)s::text[], %(skipped)s::text[])
     AS v(message_id, provider_id, attempt_number, sender_name, reason, skipped)
RETURNING id, message_id
"""  # noqa: S608 - the table names come from the models; every value is a parameter


_MESSAGES_CLAIM = f"""
UPDATE {_MESSAGE} AS m SET status = %s, status_changed_at = %s, attempts = m.attempts + 1
FROM ({{due}}) AS due (id, status_changed_at)
WHERE m.id = due.id
RETURNING m.*, due.status_changed_at AS status_changed_before
"""  # noqa: S608 - the table names come from the models; every value is a parameter


def messages_claim(due: QuerySet[Message], *, now: datetime) -> list[Message]:
    """Lock the messages `due` selects (a `SELECT ... FOR UPDATE SKIP LOCKED` of their ids) and set them `sending`
    with one more attempt, in one statement: each row is written once, with no lock record of its own before.

    Returns them oldest due first, as they were before the statement (`queued`, the attempts and status time
    before): the claim decides next which of them really go out. Those it routes stay as written (`status_set`
    counts their move); the others are written again with their status and attempts (back to the queue, or
    ended)."""
    inner, params = due.values_list("id", "status_changed_at").query.get_compiler(connection=connection).as_sql()
    rows = list(Message.objects.raw(_MESSAGES_CLAIM.format(due=inner), [MessageStatus.SENDING.value, now, *params]))
    for message in rows:
        message.status = MessageStatus.QUEUED
        message.attempts -= 1
        message.status_changed_at = vars(message).pop("status_changed_before")
    rows.sort(key=lambda message: (message.next_attempt_at, message.pk))
    return rows


def attempts_in_flight_insert(attempts: list[DispatchAttempt]) -> None:
    """INSERT the in-flight attempts of one claim (one statement) and set their ids. They share status, batch and
    start time; each message has one attempt in a claim, which is how the ids are matched back."""
    if not attempts:
        return
    first = attempts[0]
    with connection.cursor() as cursor:
        cursor.execute(
            _ATTEMPTS_IN_FLIGHT,
            {
                "in_flight": AttemptStatus.IN_FLIGHT.value,
                "batch_id": first.batch_id,
                "started_at": first.started_at,
                "message_ids": [a.message_id for a in attempts],
                "provider_ids": [a.provider_id for a in attempts],
                "attempt_numbers": [a.attempt_number for a in attempts],
                "sender_names": [a.sender_name for a in attempts],
                "reasons": [a.reason for a in attempts],
                "skipped": [json.dumps(a.skipped) if a.skipped else "[]" for a in attempts],
            },
        )
        ids = {message_id: attempt_id for attempt_id, message_id in cursor.fetchall()}
    for attempt in attempts:
        attempt.pk = ids[attempt.message_id]
        attempt._state.adding = False


@dataclass(frozen=True)
class AcceptedRow:
    attempt_id: int
    message_id: int
    provider_message_id: str
    delivered: bool  # the provider said "delivered" at once


# Rows are matched by `id = ANY(array)` with each row's value found by its position in the arrays, and the
# message's status is read by a scalar subquery: no join, so PostgreSQL's plan cannot depend on its statistics of
# `status` (which usually count no `sending` rows and once made it join a thousand rows with a thousand, 2 s).
_ATTEMPTS_ACCEPTED = f"""
UPDATE {_ATTEMPT} AS a
SET status = %(accepted)s,
    finished_at = %(now)s,
    provider_message_id = (%(provider_message_ids)s::text[])[array_position(%(attempt_ids)s::bigint[], a.id)]
WHERE a.id = ANY(%(attempt_ids)s::bigint[])
  AND a.status IN (%(in_flight)s, %(unknown)s)
  AND (SELECT m.status FROM {_MESSAGE} AS m WHERE m.id = a.message_id) = %(sending)s
RETURNING a.id
"""  # noqa: S608 - the table names come from the models; every value is a parameter

_MESSAGES_ACCEPTED = """
UPDATE {message} AS m
SET status = %(status)s,
    status_changed_at = %(now)s,
    {timestamp} = COALESCE(m.{timestamp}, %(now)s),
    provider_id = %(provider_id)s,
    sender_name = %(sender_name)s,
    provider_message_id = (%(provider_message_ids)s::text[])[array_position(%(message_ids)s::bigint[], m.id)],
    error_code = '',
    error_message = ''
WHERE m.id = ANY(%(message_ids)s::bigint[]) AND m.status = %(sending)s
"""
# `sent_at` for messages the provider took, `delivered_at` for those it said were delivered at once.
_MESSAGES_SENT = _MESSAGES_ACCEPTED.format(message=_MESSAGE, timestamp="sent_at")
_MESSAGES_DELIVERED = _MESSAGES_ACCEPTED.format(message=_MESSAGE, timestamp="delivered_at")


def accepted_record(*, rows: list[AcceptedRow], provider_id: int, sender_name: str, now: datetime) -> set[int]:
    """Accepted hand-overs: each attempt still live (in flight, or unknown after a reconcile that ran during a slow
    call; its message still sending) becomes `accepted` with the provider's id, and its message `sent` (or
    `delivered`) through this route. Two statements; returns the ids of the attempts written (row locks held
    until the caller's transaction ends)."""
    if not rows:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            _ATTEMPTS_ACCEPTED,
            {
                "accepted": AttemptStatus.ACCEPTED.value,
                "now": now,
                "attempt_ids": [row.attempt_id for row in rows],
                "provider_message_ids": [row.provider_message_id for row in rows],
                "in_flight": AttemptStatus.IN_FLIGHT.value,
                "unknown": AttemptStatus.UNKNOWN.value,
                "sending": MessageStatus.SENDING.value,
            },
        )
        written = {attempt_id for (attempt_id,) in cursor.fetchall()}
        for sql, status, delivered in (
            (_MESSAGES_SENT, MessageStatus.SENT, False),
            (_MESSAGES_DELIVERED, MessageStatus.DELIVERED, True),
        ):
            live = [row for row in rows if row.attempt_id in written and row.delivered == delivered]
            if not live:
                continue
            cursor.execute(
                sql,
                {
                    "status": status.value,
                    "now": now,
                    "provider_id": provider_id,
                    "sender_name": sender_name,
                    "message_ids": [row.message_id for row in live],
                    "provider_message_ids": [row.provider_message_id for row in live],
                    "sending": MessageStatus.SENDING.value,
                },
            )
    return written
