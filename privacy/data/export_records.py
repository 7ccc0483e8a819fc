"""The records of an access export: what each table holds about the subject in one category, read once and in
chunks for both files of the category (the JSON and the CSV).

Per value, Python does as little as it can, because a person can have hundreds of thousands of messages:
- encrypted columns are read as stored and decrypted a column of a chunk at a time by one `portal.crypto.Decryptor`
  (keys resolved once per export, not once per value);
- on PostgreSQL every time is written by the database in the two forms the files use (the JSON's UTC form as
  `DjangoJSONEncoder` writes it, `2026-11-29T08:00:05.123Z`; the CSV's operator-zone form with its offset, as
  `portal.csv_export.operator_iso` writes it, `2026-11-29T16:00:05.123456+08:00`), so no datetime is built; on other
  databases (SQLite in tests) the time arrives as a datetime and the encoder and the CSV writer format it;
- every other column comes through its field as `values()` would return it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models, transaction
from django.db.models import F, Func, Q, TextField
from django.db.models.functions import Cast

from portal.crypto import EncryptedTextField, FastEncryptedJSONField, decryptor
from privacy.data.registry import registry
from privacy.data.subjects import Subject, finder_q


@dataclass(frozen=True)
class Section:
    """One table's records of the category (the rows its finders reach, ordered by id)."""

    table: str
    label: str
    columns: list[str]
    queryset: models.QuerySet


@dataclass(frozen=True)
class Chunk:
    """Up to `chunk_size` records of a section, a column at a time (the files are built a column at a time too):
    their ids, and per column (the section's order) the values as the JSON file writes them and as the CSV file
    takes them. Where both forms are the same (every column but a time on PostgreSQL) both lists are one object."""

    ids: Sequence[Any]
    json_columns: list[Sequence[Any]]
    csv_columns: list[Sequence[Any]]
    # Per column: whether its CSV values are already safe text (a time the database wrote starts with its year).
    csv_ready: list[bool]


def sections(subject: Subject, category: str) -> Iterator[Section]:
    """Every table with data of this category about the subject."""
    for entry in registry().available():
        groups: dict[tuple[str, ...], list] = {}
        for finder in entry.finders:
            if finder.export == ():
                continue
            query = finder_q(finder, subject, entry.model_class)
            if query is None:
                continue
            names = tuple(finder.export) if finder.export is not None else tuple(entry.fields)
            groups.setdefault(names, []).append((finder, query))
        for names, found in groups.items():
            columns = [name for name in names if entry.fields.get(name) == category]
            if not columns:
                continue
            query = Q()
            for _, finder_query in found:
                query |= finder_query
            label = "; ".join(dict.fromkeys(finder.label for finder, _ in found if finder.label)) or entry.description
            qs = entry.model_class._base_manager.filter(query)
            if any("__" in finder.path for finder, _ in found):
                qs = qs.distinct()
            yield Section(entry.model, label, columns, qs.order_by("pk"))


def _field(model: type[models.Model], path: str) -> models.Field:
    """The field a `values()` path ends at (`organization__name` -> Organization.name)."""
    parts = path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(parts[-1])


# The two forms of a time, written by PostgreSQL (`{col}` is the column, `{zone}` the operator's zone). JSON:
# DjangoJSONEncoder's form of an aware UTC datetime (milliseconds, truncated, only when there is a fraction; `Z`).
# CSV: `datetime.isoformat()` in the operator's zone (microseconds only when there are any; the zone's offset at that
# moment, `+08:00`).
_HAS_FRACTION = "mod(extract(microseconds FROM {col})::bigint, 1000000) <> 0"
_JSON_TIME = (
    "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN " + _HAS_FRACTION + " THEN to_char({col} AT TIME ZONE 'UTC', '.MS') ELSE '' END || 'Z'"
)
# The offset: the local wall time less the UTC one, an interval `to_char` writes as `HH24:MI` (a third of the time of
# the same figure through `extract(epoch ...)` and arithmetic, on 200,000 rows).
_LOCAL = "({col} AT TIME ZONE {zone})"
_UTC = "({col} AT TIME ZONE 'UTC')"
_CSV_TIME = (
    "to_char({col} AT TIME ZONE {zone}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN " + _HAS_FRACTION + " THEN to_char({col} AT TIME ZONE {zone}, '.US') ELSE '' END "
    "|| CASE WHEN " + _LOCAL + " >= " + _UTC + " THEN to_char(" + _LOCAL + " - " + _UTC + ", '+HH24:MI') "
    "ELSE to_char(" + _UTC + " - " + _LOCAL + ", '-HH24:MI') END"
)


class _TimeText(Func):
    """A time column as text in one of the forms above (PostgreSQL). The column's SQL appears several times in the
    template; it has no parameters, and the zone (from settings, quoted as a literal) is none either."""

    output_field = TextField()

    def __init__(self, path: str, form: str) -> None:
        zone = "'" + settings.TIME_ZONE.replace("'", "''") + "'"
        super().__init__(F(path), template=form.format(col="(%(expressions)s)", zone=zone))


def _time_texts(path: str) -> tuple[Func, Func]:
    """(JSON form, CSV form) of a time column, written by the database."""
    return _TimeText(path, _JSON_TIME), _TimeText(path, _CSV_TIME)


def _times_in_sql(queryset: models.QuerySet, field: models.Field) -> bool:
    return connections[queryset.db].vendor == "postgresql" and isinstance(field, models.DateTimeField)


def section_records(section: Section, *, chunk_size: int) -> Iterator[Chunk]:
    """The section's records, a chunk (at most `chunk_size`) at a time, from one query streamed (`_columns`): the
    connection is taken until the generator ends, so close it (`contextlib.closing`) when leaving it early, not
    whenever it is collected."""
    queryset = section.queryset
    annotations: dict[str, Any] = {}
    selected: list[str] = []
    # Per column: (index of its JSON value, index of its CSV value, how to decode) in the selected row (0 is the pk).
    plan: list[tuple[int, int, str, models.Field]] = []
    for number, column in enumerate(section.columns):
        field = _field(queryset.model, column)
        if _times_in_sql(queryset, field):
            annotations[f"export_{number}_json"], annotations[f"export_{number}_csv"] = _time_texts(column)
            selected += [f"export_{number}_json", f"export_{number}_csv"]
            plan.append((len(selected) - 1, len(selected), "time", field))
        elif isinstance(field, EncryptedTextField):
            # As stored: decrypted below, a column at a time.
            annotations[f"export_{number}_stored"] = Cast(column, TextField())
            selected.append(f"export_{number}_stored")
            plan.append((len(selected), len(selected), "encrypted", field))
        else:
            selected.append(column)
            plan.append((len(selected), len(selected), "plain", field))
    decrypt = decryptor()
    csv_ready = [kind == "time" for _, _, kind, _ in plan]
    for values in _columns(queryset.annotate(**annotations).values_list("pk", *selected), chunk_size=chunk_size):
        for json_index, _, kind, field in plan:
            if kind != "encrypted":
                continue
            plain = decrypt.many(values[json_index])
            if isinstance(field, FastEncryptedJSONField):
                default = field.get_default()
                plain = [None if text is None else json.loads(text) if text else default for text in plain]
            values[json_index] = plain
        yield Chunk(
            ids=values[0],
            json_columns=[values[json_index] for json_index, _, _, _ in plan],
            csv_columns=[values[csv_index] for _, csv_index, _, _ in plan],
            csv_ready=csv_ready,
        )


def _columns(queryset: models.QuerySet, *, chunk_size: int) -> Iterator[list[Sequence[Any]]]:
    """The rows of a `values_list` queryset as it would return them, a column at a time per chunk of rows.

    On PostgreSQL the rows are streamed (`psycopg`'s `stream()` in chunks, one statement): the database writes
    the next rows (their times as text: most of its work) into the connection while Python decrypts and writes
    these, on the other core, instead of waiting for a `FETCH` of a server-side cursor after each chunk; what it
    sends ahead waits in the socket's buffers, not in this process, and a full buffer pauses it. While the stream
    is open the connection is taken: nothing else may query it until the generator ends (or is closed).
    Elsewhere (SQLite in tests) a plain cursor, `fetchmany` a chunk at a time. Converters (SQLite's datetimes, JSON
    fields) run on the chunk; PostgreSQL's rows of this module's columns need none and are taken as sent."""
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return
    converters = compiler.get_converters([select[0] for select in compiler.select[: compiler.col_count]])
    connection = connections[queryset.db]
    # A stream stopped early is cancelled, which fails the transaction it runs in: in one of its own (a savepoint in
    # the caller's), rolled back on the way out, the caller's goes on.
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            streamed = cursor.cursor.stream(sql, params, size=chunk_size)

            def fetch() -> list:
                return list(islice(streamed, chunk_size))

        else:
            cursor.execute(sql, params)
            streamed = None

            def fetch() -> list:
                return cursor.fetchmany(chunk_size)

        try:
            while rows := fetch():
                if converters:
                    rows = list(compiler.apply_converters(rows, converters))
                columns = list(zip(*rows, strict=True))
                del rows  # not kept while the caller works on the columns
                yield columns
        finally:
            if streamed is not None:
                streamed.close()  # stopped early: the rest of the query is cancelled and the connection freed
