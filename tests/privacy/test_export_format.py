"""The text of an access export's files, chunk by chunk: each JSON record is what `json.dumps` writes for its dict
(built a column at a time, not a dict and an encoder call a record), and each CSV line is one record under the
header, read back by `csv` as the values went in."""

import csv
import io
import json
import random
from datetime import UTC, date, datetime
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder

from portal.csv_export import CELL, csv_lines, safe_cell
from privacy.data.export_archive import _csv_text, _json_text, csv_file_name, json_record_template
from privacy.data.export_records import Chunk

AWKWARD_TEXT = [
    'say "hi", then\r\nleave',
    "100% sure %s %(x)s",
    "Maligayang kaarawan! 🎉 ñ",
    '=HYPERLINK("http://evil.example")',
    '}, {"record_id": 7',
    "\\",
    "",
    "\x00tab\there",
]


def _chunk(columns: list[list], ids: list | None = None, csv_ready: list[bool] | None = None) -> Chunk:
    ids = ids if ids is not None else list(range(1, len(columns[0]) + 1))
    return Chunk(ids=ids, json_columns=columns, csv_columns=columns, csv_ready=csv_ready or [False] * len(columns))


def test_json_records_are_what_json_dumps_writes_for_each_record():
    moment = datetime(2026, 11, 29, 16, 0, 5, 123456, tzinfo=UTC)
    count = len(AWKWARD_TEXT)
    columns = {
        "body": AWKWARD_TEXT,
        "maybe": [None if index % 2 else text for index, text in enumerate(AWKWARD_TEXT)],
        "segments": list(range(count)),
        "retries": [None if index % 3 else index for index in range(count)],
        "mixed": [True, 1.5, Decimal("2.50"), moment, date(2026, 1, 2), {"a": [1, "b"]}, [None], "x"],
        "100%": ["percent key"] * count,
        'odd "key"': [None] * count,
    }
    keys = ["record_id", *columns]
    chunk = _chunk(list(columns.values()))
    text = _json_text(json_record_template(keys), chunk)

    expected = [
        json.dumps(dict(zip(keys, row, strict=True)), cls=DjangoJSONEncoder)
        for row in zip(chunk.ids, *columns.values(), strict=True)
    ]
    assert text == ",\n   ".join(expected)
    assert json.loads("[" + text + "]")[0]["body"] == AWKWARD_TEXT[0]


def test_csv_lines_are_one_record_each_and_read_back():
    count = len(AWKWARD_TEXT)
    columns = [AWKWARD_TEXT, list(range(count)), [None] * count]
    text = _csv_text(_chunk(columns, ids=[10 + index for index in range(count)]))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == count
    assert [row[0] for row in rows] == [str(10 + index) for index in range(count)]
    bodies = [row[1] for row in rows]
    # Formula-looking text gets its apostrophe; everything else comes back as it went in.
    assert bodies[3] == "'" + AWKWARD_TEXT[3]
    assert bodies[:3] + bodies[4:] == AWKWARD_TEXT[:3] + AWKWARD_TEXT[4:]
    assert [row[2] for row in rows] == [str(index) for index in range(count)]
    assert [row[3] for row in rows] == [""] * count


def test_a_table_with_a_second_set_of_records_gets_its_own_file():
    taken: set[str] = set()
    names = [csv_file_name("usage_data", table, taken) for table in ("messaging.Message", "accounts.User")]
    names.append(csv_file_name("usage_data", "messaging.Message", taken))
    assert names == [
        "usage_data/messaging.Message.csv",
        "usage_data/accounts.User.csv",
        "usage_data/messaging.Message-2.csv",
    ]


def test_a_column_of_numbers_and_signs_is_made_safe_as_safe_cell_makes_each_cell():
    # A column of E.164 numbers is left as it is in one search; a sign before anything but a plain number is not.
    pieces = ["+", "-", "=", "@", "\t", "1", "12", ".", ".5", "a", "+639171234567", "-12.50", " ", "\x00", ""]
    rng = random.Random(20261130)
    for _ in range(2000):
        column = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(1, 5))]
        column.append(None)
        lines = csv_lines([column], rules=[CELL]).split("\r\n")[:-1]
        expected = [safe_cell(value) for value in column]
        assert [row[0] if row else "" for row in csv.reader(lines)] == expected, column
    numbers = ["+639171234567", "-12.50", "+1", None]
    assert csv_lines([numbers], rules=[CELL]) == '+639171234567\r\n-12.50\r\n+1\r\n""\r\n'
