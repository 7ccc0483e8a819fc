"""Writing new Message rows: PostgreSQL COPY for a large send, `bulk_create` otherwise.

`bulk_create` builds one INSERT of arrays per 1,000 rows through Django's insert compiler and psycopg's quoting of
each array, which cost more than the rows themselves on a CSV upload. COPY streams the same values instead. Every
value still comes from its field exactly as an INSERT would store it (`pre_save` then `get_db_prep_save`), so the
number and text are encrypted, `recipient_hash` is the keyed hash of the number, and defaults are the model's.
The ids are taken from the table's own sequence first (one statement), so the caller gets every message with its
id as after `bulk_create`. A small send (the API's usual request: one message) is one INSERT of the same values
with `RETURNING id`, its text built once per process: Django's insert compiler costs more CPU than the rest of such a
send's statement, and two statements (ids, then COPY) more round trips than COPY saves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.base import ModelState

from messaging.models import Message
from portal.crypto import EncryptedTextField, LookupHashField

# From this many rows on, COPY (PostgreSQL only).
COPY_MIN_ROWS = 50
INSERT_BATCH_SIZE = 1000

# Prepared for every row: ciphertext (a fresh nonce each time) and hashes derived from another column.
_PER_ROW_FIELDS = (EncryptedTextField, LookupHashField)
# Fields (these exact classes) that store a str, int or bool value, or None, as it is: preparing it would give it back.
_STORED_AS_GIVEN = {
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.BigIntegerField,
    models.BooleanField,
    models.ForeignKey,
}
_AS_GIVEN_TYPES = (str, int, bool, type(None))

_NEXT_IDS_SQL = "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"

# {rows: INSERT statement} for the small-send path, built on first use (PostgreSQL).
_insert_sql: dict[int, str] = {}
# {database alias: the `inserted` clause}, built on first use.
_inserted_sql: dict[str, str] = {}


def message_like(template: Message, **values) -> Message:
    """A new unsaved message equal to `template` but for `values` (field names), without `Model.__init__`: the
    constructor walks every field and its default per call (~100 µs), the copy of an already built one does not
    (~2 µs), which a send of 100,000 messages feels. Related objects the template holds (organization, campaign)
    are shared, as with `Message(organization=...)` for each."""
    message = Message.__new__(Message)
    state = ModelState()
    state.fields_cache = dict(template._state.fields_cache)
    message.__dict__.update(template.__dict__)
    message._state = state
    for name, value in values.items():
        setattr(message, name, value)
    return message


def messages_insert(messages: list[Message], *, with_statement: tuple[str, list] | None = None) -> None:
    """Store new (unsaved) messages; afterwards each has its id, like after `bulk_create`. Runs in the caller's
    transaction. No signals are sent (neither does `bulk_create`).

    `with_statement` (SQL, parameters): another write of the same transaction that depends on nothing the INSERT
    returns (the daily counts' upsert). A small send on PostgreSQL runs it in the INSERT's own statement, as a
    data-modifying WITH (one round trip instead of two); otherwise it runs just before."""
    if not messages:
        return
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: every attribute read through the proxy costs
    if db.vendor == "postgresql" and len(messages) < COPY_MIN_ROWS:
        _insert_returning_ids(messages, db, with_statement)
    else:
        if with_statement is not None:
            with db.cursor() as cursor:
                cursor.execute(*with_statement)
        if db.vendor != "postgresql":
            Message.objects.bulk_create(messages, batch_size=INSERT_BATCH_SIZE)
            return
        _copy_with_sequence_ids(messages, db)
    for message in messages:
        message._state.adding = False
        message._state.db = db.alias


def _stored_rows(messages: list[Message], fields, db):
    """Each message's values as the database stores them, in `fields` order."""
    # A column whose stored form depends only on the value (not a secret, not derived from another column) is
    # prepared once per distinct value: most columns are the same for every message of a send.
    plain = [not isinstance(field, _PER_ROW_FIELDS) for field in fields]
    as_given = [type(field) in _STORED_AS_GIVEN for field in fields]
    memo: list[dict] = [{} for _ in fields]
    for message in messages:
        row = []
        for field, is_plain, given, known in zip(fields, plain, as_given, memo, strict=True):
            value = field.pre_save(message, True)
            if given and type(value) in _AS_GIVEN_TYPES:
                row.append(value)
            elif is_plain and value.__hash__ is not None:
                if value not in known:
                    known[value] = field.get_db_prep_save(value, db)
                row.append(known[value])
            else:
                row.append(field.get_db_prep_save(value, db))
        yield row


def _insert_returning_ids(messages: list[Message], db, with_statement: tuple[str, list] | None) -> None:
    meta = Message._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    sql = _insert_sql.get(len(messages))
    if sql is None:
        columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {db.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608 - names from the model
            f"VALUES {', '.join([row] * len(messages))} RETURNING {db.ops.quote_name(meta.pk.column)}"
        )
        _insert_sql[len(messages)] = sql
    params = [value for row in _stored_rows(messages, fields, db) for value in row]
    if with_statement is not None:
        sql = f"WITH earlier AS ({with_statement[0]}) {sql}"
        params = [*with_statement[1], *params]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        # A multi-row VALUES insert returns its ids in the order of the rows (what `bulk_create` relies on too).
        for message, (message_id,) in zip(messages, cursor.fetchall(), strict=True):
            message.pk = message_id


@dataclass(frozen=True)
class InsertedClause:
    """The messages' INSERT as a WITH clause of a caller's statement (`inserted_clause`)."""

    sql: str
    params: list
    # Each message by its number as stored: a ciphertext with a nonce of its own, so it tells the rows apart.
    by_stored_recipient: dict[str, Message]


def inserted_clause(messages: list[Message], *, only_if: str) -> InsertedClause:
    """The messages' INSERT as a WITH clause `inserted` of a caller's statement (PostgreSQL), made only when the
    caller's clause `only_if` has a row. It returns id, recipient (as stored), price and segments of each row;
    `inserted_ids_set` gives the messages their ids from the statement's answer. The values are one JSON
    parameter, each read as its column's type: one parameter instead of one per field and message, and one
    statement text whatever the number of messages (prepared once)."""
    db = connections[DEFAULT_DB_ALIAS]
    meta = Message._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    columns = [field.column for field in fields]
    recipient_at = columns.index(Message._meta.get_field("recipient").column)
    rows, by_stored_recipient = [], {}
    for message, row in zip(messages, _stored_rows(messages, fields, db), strict=True):
        rows.append(dict(zip(columns, row, strict=True)))
        by_stored_recipient[row[recipient_at]] = message
    sql = _inserted_sql.get(db.alias)
    if sql is None:
        quoted = [db.ops.quote_name(column) for column in columns]
        table = db.ops.quote_name(meta.db_table)
        quoted_pk = db.ops.quote_name(meta.pk.column)
        returned = [
            quoted_pk,
            quoted[recipient_at],
            *(db.ops.quote_name(meta.get_field(name).column) for name in ("price", "segments")),
        ]
        sql = (
            f"inserted AS (INSERT INTO {table} ({', '.join(quoted)}) "  # noqa: S608 - names from the model
            f"SELECT {', '.join(f'given.{column}' for column in quoted)} "
            f"FROM {{only_if}}, jsonb_populate_recordset(NULL::{table}, %s::jsonb) WITH ORDINALITY AS given "
            "ORDER BY given.ordinality "
            f"RETURNING {', '.join(returned)})"
        )
        _inserted_sql[db.alias] = sql
    return InsertedClause(
        sql=sql.format(only_if=only_if),
        params=[json.dumps(rows, default=_json_value, separators=(",", ":"))],
        by_stored_recipient=by_stored_recipient,
    )


def inserted_ids_set(clause: InsertedClause, returned: list[tuple[int, str]]) -> None:
    """Give each message of `clause` its id from (id, recipient as stored) pairs the statement returned."""
    if len(returned) != len(clause.by_stored_recipient):
        raise RuntimeError(f"{len(returned)} messages stored of {len(clause.by_stored_recipient)}")
    db = connections[DEFAULT_DB_ALIAS]
    for message_id, stored_recipient in returned:
        message = clause.by_stored_recipient[stored_recipient]
        message.pk = message_id
        message._state.adding = False
        message._state.db = db.alias


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form here")


def _copy_with_sequence_ids(messages: list[Message], db) -> None:
    meta = Message._meta
    fields = meta.concrete_fields
    columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
    with db.cursor() as cursor:
        cursor.execute(_NEXT_IDS_SQL, [meta.db_table, meta.pk.column, len(messages)])
        ids = [row[0] for row in cursor.fetchall()]
        for message, message_id in zip(messages, ids, strict=True):
            message.pk = message_id
        with cursor.copy(f"COPY {db.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in _stored_rows(messages, fields, db):
                copy.write_row(row)
