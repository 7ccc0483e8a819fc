"""The log's CSV export writes its chunks with the columnar CSV builder: the same text `csv.writer` writes for the
same cells, free text neutralised (signed numbers too), everything quoted as RFC 4180 wants."""

import csv
import io

import pytest

from messaging import selectors
from messaging.log_export import EXPORT_CHUNK_SIZE, export_rows
from tests.messaging.test_pages_log import make_messages

pytestmark = pytest.mark.django_db

BODIES = [
    'Hello, "friend"\r\nsee you',
    '=HYPERLINK("http://evil")',
    "-5",
    "+639171234567",
    "@SUM(A1)",
    "\tTabbed",
    "\rReturn",
    "Salamat po! ñ 日本 🙂",
    "line\nbreak",
    "plain",
]


def _export_text(organization) -> str:
    return "".join(export_rows(selectors.message_list(organization=organization)))


def test_cells_are_neutralised_and_quoted_as_csv_writer_does(org_a):
    for body in BODIES:
        make_messages(org_a, 1, body=body)
    text = _export_text(org_a)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    bodies = {row[-1] for row in rows[1:]}
    assert bodies == {"'" + body if body[0] in "=+-@\t\r" else body for body in BODIES}
    again = io.StringIO(newline="")
    csv.writer(again).writerows(rows)
    assert again.getvalue() == text  # minimal quoting, quotes doubled, CRLF: csv.writer's text


def test_chunks_join_into_one_csv(org_a):
    make_messages(org_a, EXPORT_CHUNK_SIZE + 3, body="a,b")
    chunks = list(export_rows(selectors.message_list(organization=org_a)))
    assert len(chunks) == 3  # the header, a full chunk, the rest
    rows = list(csv.reader(io.StringIO("".join(chunks), newline="")))
    assert len(rows) == EXPORT_CHUNK_SIZE + 4
    assert {row[-1] for row in rows[1:]} == {"a,b"}
