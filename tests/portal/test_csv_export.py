import io
from datetime import UTC, datetime

import pytest

from portal.csv_export import SafeWriter, operator_iso, safe_cell, streaming_writer


@pytest.mark.parametrize(
    "dangerous",
    ['=HYPERLINK("http://evil.example","x")', "=cmd|' /C calc'!A0", "+1+cmd|x", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_formula_cells_are_neutralised(dangerous):
    assert safe_cell(dangerous) == "'" + dangerous


@pytest.mark.parametrize("plain", ["+639171234567", "-12.50", "12", "Alpha Retail", ""])
def test_plain_values_pass_unchanged(plain):
    assert safe_cell(plain) == plain


def test_numbers_and_none():
    assert safe_cell(5) == 5
    assert safe_cell(None) == ""


def test_datetimes_are_written_in_the_operators_zone_with_offset():
    moment = datetime(2026, 11, 29, 0, 30, tzinfo=UTC)
    assert operator_iso(moment) == "2026-11-29T08:30:00+08:00"
    assert safe_cell(moment) == "2026-11-29T08:30:00+08:00"


def test_writer_applies_the_rule_to_every_cell():
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["=1+1", "ok", 3])
    assert buffer.getvalue() == "'=1+1,ok,3\r\n"
    assert streaming_writer().writerow(["@x"]) == "'@x\r\n"
