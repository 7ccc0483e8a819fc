"""The one CSV writer every export uses: spreadsheet formulas are neutralised in every cell.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel, LibreOffice and
Google Sheets (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). Such cells get a leading apostrophe, which spreadsheets
show as text and do not print. Plain numbers (`-12.50`, `+639171234567`) are left alone: they are not formulas,
and machines reading the file need them as they are.

Lines are built a column at a time (`csv_lines`, and `SafeWriter.writerows` through it): per column of a chunk of
rows one look at the kinds of value, one scan for a formula's first character and one for the characters that need
quoting, then one `join`. The text is byte for byte `csv.writer`'s (RFC 4180: a cell holding a comma, a double quote,
CR or LF is quoted and its quotes doubled; None is an empty cell; lines end in CRLF) for about half its time, because
the common column (no formula, nothing to quote) costs a few C-level passes instead of a call per cell.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import groupby, islice
from typing import Any

from portal.timezone import operator_tz

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

# What a column's cells are made safe with (`csv_lines(rules=...)`):
CELL = "cell"  # `safe_cell`: formula-looking text gets an apostrophe, plain numbers do not (the default)
FREE_TEXT = "free text"  # text people typed (a message, a sender name): any text starting like a formula, numbers too
READY = "ready"  # the caller's own values (ids, choices, times it formatted): never a formula; only quoted

ROWS_PER_CHUNK = 2000
_NONE = type(None)
_TEXT_KINDS = frozenset({str, _NONE})
# Their text never starts like a formula that `safe_cell` changes and never holds a character that needs quoting.
_NUMBER_KINDS = frozenset({int, float, Decimal, bool, _NONE})
# Joins a column for the scans: a formula's first character follows it (or starts the text); it needs no quoting.
_SEPARATOR = "\x00"
# One search for all six (a regular expression starting with a literal skips to each separator; six `in` scans cost
# eight times as much on a chunk of message texts).
_FORMULA_AFTER_SEPARATOR = re.compile(_SEPARATOR + "[" + re.escape("".join(FORMULA_PREFIXES)) + "]")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
# After a separator, a cell `safe_cell` changes: one starting with `=`, `@`, a tab or CR, or with a sign that a plain
# number (`_PLAIN_NUMBER`) does not follow to the cell's end. A column of E.164 numbers (`+639171234567`) hits
# `_FORMULA_AFTER_SEPARATOR` on every cell but needs no change: this one search says so instead of a call per cell.
_CELL_CHANGED_AFTER_SEPARATOR = re.compile(_SEPARATOR + r"(?:[=@\t\r]|[+-](?!\d+(?:\.\d+)?(?:" + _SEPARATOR + r"|\Z)))")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet will not execute it. Numbers and None pass through unchanged."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return operator_iso(value)
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def free_text_cell(value: Any) -> Any:
    """Text a person typed never runs as a formula, whatever follows its first character (`-5` too)."""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    return safe_cell(value)


def _ready_cell(value: Any) -> Any:
    return "" if value is None else value


def operator_iso(value: datetime | None) -> str:
    """ISO 8601 in the operator's time zone, with the offset written (`2026-11-29T08:00:00+08:00`)."""
    if value is None:
        return ""
    return value.astimezone(operator_tz()).isoformat()


_RULES: dict[str, Callable[[Any], Any]] = {CELL: safe_cell, FREE_TEXT: free_text_cell, READY: _ready_cell}


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _cells_unchanged_by_safe_cell(joined: str, count: int) -> bool:
    """Whether `safe_cell` leaves every one of the `count` text cells joined by the separator as it is (a cell
    holding the separator itself makes the search unreliable: then no)."""
    if joined.count(_SEPARATOR) != count - 1:
        return False
    return _CELL_CHANGED_AFTER_SEPARATOR.search(_SEPARATOR + joined) is None


def _column_cells(column: Sequence[Any], rule: str) -> Sequence[str]:
    """The column's cells as the CSV writes them: made safe by `rule`, as text, quoted where they must be."""
    kinds = set(map(type, column))
    if kinds <= _NUMBER_KINDS:
        return ["" if value is None else str(value) for value in column] if _NONE in kinds else list(map(str, column))
    if kinds <= _TEXT_KINDS:
        text = ["" if value is None else value for value in column] if _NONE in kinds else column
        joined = _SEPARATOR.join(text)
        if (
            rule != READY
            and (joined.startswith(FORMULA_PREFIXES) or _FORMULA_AFTER_SEPARATOR.search(joined))
            and not (rule == CELL and _cells_unchanged_by_safe_cell(joined, len(text)))
        ):
            safe = _RULES[rule]
            text = [safe(value) for value in text]
    else:
        # Mixed kinds (times, structures' text, str subclasses): the rule value by value, then as `csv` writes them.
        safe = _RULES[rule]
        text = [value if type(value) is str else str(value) for value in map(safe, column)]
        joined = _SEPARATOR.join(text)
    if '"' in joined or "," in joined or "\n" in joined or "\r" in joined:
        needs_quotes = _NEEDS_QUOTES.search
        return [_quoted(value) if needs_quotes(value) else value for value in text]
    return text


def csv_lines(columns: Sequence[Sequence[Any]], *, rules: Sequence[str] | None = None) -> str:
    """The CSV lines (CRLF after each) of the rows whose columns are given (equal lengths; one chunk of rows),
    every cell made safe by its column's rule (`CELL` unless `rules` says otherwise)."""
    if not columns:
        return ""
    if rules is None:
        rules = [CELL] * len(columns)
    cells = [_column_cells(column, rule) for column, rule in zip(columns, rules, strict=True)]
    if not cells[0]:
        return ""
    if len(cells) == 1:
        # A line of one empty cell is written `""`, or it would read as no cell at all (as `csv.writer` does).
        return "\r\n".join(cell or '""' for cell in cells[0]) + "\r\n"
    return "\r\n".join(map(",".join, zip(*cells, strict=True))) + "\r\n"


def _rows_text(rows: Sequence[Sequence[Any]]) -> str:
    """`csv_lines` of rows; rows of another length than their neighbours (a title line, totals) are their own run."""
    parts = []
    for width, run in groupby(rows, key=len):
        if width == 0:
            parts.append("\r\n" * len(list(run)))
        else:
            parts.append(csv_lines(list(zip(*run, strict=True))))
    return "".join(parts)


class SafeWriter:
    """`csv.writer` with every cell passed through `safe_cell`; `writerows` builds a chunk's lines a column at a
    time (`csv_lines`) and writes them at once. Another dialect than the default (keyword arguments) goes through
    `csv.writer` row by row."""

    def __init__(self, target: Any, **kwargs: Any) -> None:
        self._target = target
        self._columnar = not kwargs
        self._writer = csv.writer(target, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        if not self._columnar:
            for row in rows:
                self.writerow(row)
            return
        rows = iter(rows)
        while chunk := [tuple(row) for row in islice(rows, ROWS_PER_CHUNK)]:
            self._target.write(_rows_text(chunk))


class _Echo:
    """A file-like target that hands each written line back, for streaming responses."""

    def write(self, value: str) -> str:
        return value


def streaming_writer(**kwargs: Any) -> SafeWriter:
    """A writer whose `writerow` returns the CSV line, for `StreamingHttpResponse(generator)`."""
    return SafeWriter(_Echo(), **kwargs)
