"""The statement CSV people download writes times in Asia/Manila with the offset written."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from freezegun import freeze_time

from billing.services import payment_record


def test_statement_csv_times_are_manila_with_the_offset(client_owner_a, client_owner_b, org_a):
    # 20:30 UTC on 30 November is 04:30 on 1 December in Manila: December's statement, written as such.
    with freeze_time(datetime(2026, 11, 30, 20, 30, tzinfo=UTC)):
        payment_record(organization=org_a, actor=None, method="gcash", amount_php=Decimal("50.00"), reference="R1")
    december = client_owner_a.get("/billing/statements/csv/?month=2026-12")
    rows = list(csv.reader(io.StringIO(december.content.decode())))
    assert any(row and row[0] == "2026-12-01T04:30:00+08:00" for row in rows), rows
    november = client_owner_a.get("/billing/statements/csv/?month=2026-11").content.decode()
    assert "2026-11-30T20:30" not in november and "R1" not in november
    assert "R1" not in client_owner_b.get("/billing/statements/csv/?month=2026-12").content.decode()
