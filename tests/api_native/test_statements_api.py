"""GET /api/v1/statements/{YYYY-MM} (JSON) and .csv: the dashboard statement's figures, per organization."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from freezegun import freeze_time

from billing.services import payment_record
from tests.api_native.conftest import fund


def _november(org):
    with freeze_time(datetime(2026, 11, 10, 2, 0, tzinfo=UTC)):
        fund(org, "20.00", reason="grant")
        fund(org, "-2.50", reason='=HYPERLINK("http://x")')


def test_statement_json_has_the_months_figures_as_decimal_strings(org_a, org_b, scoped_client):
    _november(org_a)
    client = scoped_client(org_a, "billing")
    body = client.get("/api/v1/statements/2026-11").json()
    assert body["month"] == "2026-11" and body["currency"] == "credits"
    assert body["opening_balance"] == "0.00"
    assert body["closing_balance"] == "17.50"
    assert body["credits_adjusted"] == "17.50"
    assert body["net_change"] == "17.50"
    assert body["credits_charged"] == "0.00" and body["segments_charged"] == 0
    assert isinstance(body["traffic"], list) and body["topups"] == []
    december = client.get("/api/v1/statements/2026-12").json()
    assert december["opening_balance"] == december["closing_balance"] == "17.50"
    # Another organization's key gets its own (empty) statement, never this one.
    other = scoped_client(org_b, "billing").get("/api/v1/statements/2026-11").json()
    assert other["closing_balance"] == "0.00" and other["credits_adjusted"] == "0.00"


def test_statement_csv_matches_the_json(org_a, org_b, scoped_client):
    _november(org_a)
    client = scoped_client(org_a, "billing")
    for headers in ({}, {"HTTP_ACCEPT": "text/csv"}):
        response = client.get("/api/v1/statements/2026-11.csv", **headers)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == 'attachment; filename="statement-alpha-2026-11.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Statement", "Alpha Retail", "2026-11", "credits"]
    assert ["Closing balance", "17.50"] in rows
    assert ["Adjustments", "17.50"] in rows
    other = scoped_client(org_b, "billing").get("/api/v1/statements/2026-11.csv").content.decode()
    assert "Alpha Retail" not in other and "Bravo Clinic" in other


def test_statement_lists_topups_with_receipts(org_a, owner_a, scoped_client):
    with freeze_time(datetime(2026, 11, 12, 2, 0, tzinfo=UTC)):
        payment = payment_record(
            organization=org_a, actor=owner_a, method="gcash", amount_php=Decimal("500.00"), reference="=cmd"
        )
    client = scoped_client(org_a, "billing")
    [topup] = client.get("/api/v1/statements/2026-11").json()["topups"]
    assert topup["payment_id"] == payment.id and topup["amount_php"] == "500.00"
    assert topup["receipt_number"] and topup["created_at"].endswith("+08:00")
    text = client.get("/api/v1/statements/2026-11.csv").content.decode()
    assert "'=cmd" in text  # formulas are neutralised


def test_a_bad_month_answers_a_clear_error(org_a, scoped_client):
    client = scoped_client(org_a, "billing")
    response = client.get("/api/v1/statements/2026-13")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_month"
    assert client.get("/api/v1/statements/2026-13.csv").json()["error"]["code"] == "invalid_month"
    assert client.get("/api/v1/statements/november").status_code == 404
