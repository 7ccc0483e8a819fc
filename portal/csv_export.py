"""The one CSV writer every export uses: spreadsheet formulas are neutralised in every cell.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel, LibreOffice and
Google Sheets (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). Such cells get a leading apostrophe, which spreadsheets
show as text and do not print. Plain numbers (`-12.50`, `+639171234567`) are left alone: they are not formulas,
and machines reading the file need them as they are.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from portal.timezone import operator_tz

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


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


def operator_iso(value: datetime | None) -> str:
    """ISO 8601 in the operator's time zone, with the offset written (`2026-11-29T08:00:00+08:00`)."""
    if value is None:
        return ""
    return value.astimezone(operator_tz()).isoformat()


class SafeWriter:
    """`csv.writer` with every cell passed through `safe_cell`."""

    def __init__(self, target: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(target, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file-like target that hands each written line back, for streaming responses."""

    def write(self, value: str) -> str:
        return value


def streaming_writer(**kwargs: Any) -> SafeWriter:
    """A writer whose `writerow` returns the CSV line, for `StreamingHttpResponse(generator)`."""
    return SafeWriter(_Echo(), **kwargs)
