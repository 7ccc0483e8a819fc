"""The columnar CSV builder writes what `csv.writer` writes after the formula rule, byte for byte."""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.csv_export import CELL, FREE_TEXT, READY, SafeWriter, csv_lines, free_text_cell, safe_cell

# Pieces a cell is made of: every character the writer treats specially, and text around it.
_PIECES = [
    "a", "Alpha Retail", " ", ",", '"', '""', "\r", "\n", "\r\n", "\t", "=", "+", "-", "@", "'", "1", "12.50",
    "+639171234567", "-12", "=SUM(A1)", "ñ", "日本語", "🙂", "é", "\x00", ";", "|", "\\", "x" * 300,
]  # fmt: skip


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 5)))


def _value(rng: random.Random, kinds: str):
    if kinds == "text":
        return None if rng.random() < 0.1 else _text(rng)
    if kinds == "numbers":
        return rng.choice([None, rng.randint(-(10**12), 10**12), Decimal(rng.randint(-9999, 9999)) / 100, 1.5, True])
    offset = timedelta(seconds=rng.randint(0, 10**6), microseconds=rng.randint(0, 3))
    moment = datetime(2026, 11, 29, tzinfo=UTC) + offset
    return rng.choice([None, "", _text(rng), rng.randint(-50, 50), moment, Decimal("-0.50"), False])


def _expected(rows, rules) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    rule_of = {CELL: safe_cell, FREE_TEXT: free_text_cell, READY: lambda value: value}
    writer.writerows([rule_of[rule](value) for value, rule in zip(row, rules, strict=True)] for row in rows)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(60))
def test_random_rows_are_written_as_csv_writer_writes_them(seed):
    rng = random.Random(seed)
    width = rng.choice([1, 1, 2, 3, 5, 17])
    kinds = [rng.choice(["text", "text", "numbers", "mixed"]) for _ in range(width)]
    rules = [rng.choice([CELL, FREE_TEXT, READY]) for _ in range(width)]
    rows = [[_value(rng, kind) for kind in kinds] for _ in range(rng.choice([1, 2, 50, 400]))]
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert csv_lines(columns, rules=rules) == _expected(rows, rules)
    if all(rule == CELL for rule in rules):
        assert csv_lines(columns) == _expected(rows, rules)


@pytest.mark.parametrize(
    "cell",
    ["", None, "=1+1", "+1", "-2+3", "@x", "\t=1", "\r=1", "-12.50", "+639171234567", 'a "b", c', "a\nb", "a\r\nb"],
)
@pytest.mark.parametrize("rule", [CELL, FREE_TEXT, READY])
@pytest.mark.parametrize("width", [1, 2])
def test_each_special_cell_alone_and_beside_another(cell, rule, width):
    rows = [[cell] * width, ["x"] * width, [cell] * width]
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert csv_lines(columns, rules=[rule] * width) == _expected(rows, [rule] * width)


def test_formulas_are_neutralised_and_quoting_follows_rfc_4180():
    columns = [["=1+1", "-5", None, 'say "hi", then\r\nleave'], [1, 2, 3, 4]]
    assert csv_lines(columns) == '\'=1+1,1\r\n-5,2\r\n,3\r\n"say ""hi"", then\r\nleave",4\r\n'
    assert csv_lines(columns, rules=[FREE_TEXT, READY]).startswith("'=1+1,1\r\n'-5,2\r\n")


def test_no_rows_no_text():
    assert csv_lines([]) == ""
    assert csv_lines([[], []]) == ""


def test_writerows_matches_csv_writer_across_chunks_and_ragged_rows():
    rng = random.Random(7)
    rows = [["title", "=danger"], ["a", "b", "c"], []]
    rows += [[_value(rng, "mixed"), _value(rng, "text"), rng.randint(0, 9)] for _ in range(4500)]
    rows += [["total", date(2026, 11, 29), Decimal("-12.50"), None]]
    buffer = io.StringIO(newline="")
    SafeWriter(buffer).writerows(iter(rows))
    expected = io.StringIO(newline="")
    writer = csv.writer(expected)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    assert buffer.getvalue() == expected.getvalue()


def test_another_dialect_goes_through_csv_writer():
    buffer = io.StringIO(newline="")
    SafeWriter(buffer, delimiter=";").writerows([["=x", "a;b"], [1, None]])
    assert buffer.getvalue() == '\'=x;"a;b"\r\n1;\r\n'
