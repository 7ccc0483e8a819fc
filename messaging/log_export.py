"""The message log as CSV: streamed in chunks from one server-side cursor, memory flat whatever the row count.

Python only decrypts what is stored encrypted (the number, the text: a batch per column of a chunk, with keys
resolved once for the export) and neutralises free text against spreadsheet formulas (a scan per column of a
chunk); everything else arrives as text the CSV can take as it is. On PostgreSQL the timestamps are
written by the database in the operator's zone (`to_char` of the time at Asia/Manila; the zone is named in the
header, so a cell is `2026-11-29 16:00:05`), the price as text and the provider's name joined in: building a
model, a datetime or a Decimal per row cost more than the rest of the export together (2,768 rows/s with models,
10,330 with text timestamps parsed in Python). Each chunk of rows is one `portal.csv_export.csv_lines` (the lines
built a column at a time: half of `csv.writer`'s time, the same text) and one yielded string; the next chunk is
fetched while this one is written (`portal.prefetch`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Func, QuerySet, TextField, Value
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from messaging.models import Message
from portal.crypto import EncryptedTextField, decryptor
from portal.csv_export import FREE_TEXT, READY, csv_lines
from portal.prefetch import prefetched_chunks
from portal.timezone import operator_tz

EXPORT_CHUNK_SIZE = 2000
_TIMESTAMPS = ("created_at", "send_at", "sent_at", "delivered_at")
_TEXT_FORMAT = "YYYY-MM-DD HH24:MI:SS"
_PY_FORMAT = "%Y-%m-%d %H:%M:%S"


def export_columns() -> list[str]:
    zone = settings.TIME_ZONE
    return [
        "id",
        f"created_at ({zone})",
        "to",
        "network",
        "sender_name",
        "provider",
        "channel",
        "encoding",
        "segments",
        "price",
        "status",
        f"send_at ({zone})",
        f"sent_at ({zone})",
        f"delivered_at ({zone})",
        "error_code",
        "error_message",
        "body",
    ]


# Column order of the query; `recipient` and `body` may be encrypted and are decrypted by their fields.
_VALUES = (
    "pk",
    "created_at_text",
    "recipient",
    "network",
    "sender_name",
    "provider__name",
    "channel",
    "encoding",
    "segments",
    "price_text",
    "status",
    "send_at_text",
    "sent_at_text",
    "delivered_at_text",
    "error_code",
    "error_message",
    "body",
)
_RECIPIENT, _BODY = _VALUES.index("recipient"), _VALUES.index("body")
# Text people or providers wrote never runs as a spreadsheet formula (a leading = + - @ tab or CR gets an apostrophe,
# a signed number too); the rest is the database's or the portal's own (ids, choices, times, the price, the validated
# E.164 number): only quoted where it must be.
_FREE_TEXT = ("sender_name", "provider__name", "error_code", "error_message", "body")
_RULES = tuple(FREE_TEXT if name in _FREE_TEXT else READY for name in _VALUES)


def _local_text(name: str):
    """The timestamp as the database writes it in the operator's zone (PostgreSQL), without parsing it here."""
    at_zone = Func(Value(settings.TIME_ZONE), F(name), function="timezone")
    return Func(at_zone, Value(_TEXT_FORMAT), function="to_char", output_field=TextField())


def _encrypted(name: str) -> bool:
    return isinstance(Message._meta.get_field(name), EncryptedTextField)


def _rows_sql(queryset: QuerySet) -> tuple[str, tuple]:
    in_sql = connection.vendor == "postgresql"
    annotations = {
        f"{name}_text": _local_text(name) if in_sql else F(name)  # elsewhere formatted below, row by row
        for name in _TIMESTAMPS
    }
    annotations["price_text"] = Cast("price", TextField())
    values = queryset.select_related(None).annotate(**annotations).values_list(*_VALUES)
    return values.query.sql_with_params()


def export_rows(queryset: QuerySet) -> Iterator[str]:
    """The CSV text of `queryset` (message_list's, filters applied), header first, then one string per
    EXPORT_CHUNK_SIZE rows, read with one server-side cursor (raw rows: no model, no converter per value)."""
    yield csv_lines([[name] for name in export_columns()], rules=[READY] * len(_VALUES))
    sql, params = _rows_sql(queryset)
    # One decryptor for the whole export: the keys are resolved once, not per value (`portal.crypto.Decryptor`).
    decrypt = decryptor()
    decrypt_recipient, decrypt_body = _encrypted("recipient"), _encrypted("body")
    timestamps = [_VALUES.index(f"{name}_text") for name in _TIMESTAMPS] if connection.vendor != "postgresql" else []
    zone = operator_tz()
    # In a transaction the server-side cursor streams: outside one (autocommit) PostgreSQL declares it WITH HOLD and
    # runs the whole query before the first row comes back, so nothing of it could overlap with the writing below.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        # The next chunk is read while this one is written (`portal.prefetch`): the database and Python work at once.
        for chunk in prefetched_chunks(cursor, EXPORT_CHUNK_SIZE):
            # Column by column: a batch decryption per encrypted column, and the CSV's lines built a column at a
            # time, cost less than the same work row by row.
            columns: list[Sequence] = list(zip(*chunk, strict=True))
            if decrypt_recipient:
                columns[_RECIPIENT] = decrypt.many(columns[_RECIPIENT])  # validated E.164: kept as is for machines
            if decrypt_body:
                columns[_BODY] = decrypt.many(columns[_BODY])
            for index in timestamps:
                columns[index] = [_python_local_text(moment, zone) if moment else "" for moment in columns[index]]
            yield csv_lines(columns, rules=_RULES)


def _python_local_text(moment, zone) -> str:
    """Other databases (SQLite in tests) hand back UTC text or a datetime: the same form as PostgreSQL's `to_char`
    above."""
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(_PY_FORMAT)
