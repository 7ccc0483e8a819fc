"""A monthly statement (`billing.selectors.Statement`) as the API gives it: a JSON-ready dict and CSV rows.

Money is a decimal string in credits, timestamps ISO 8601 with their offset (the operator's zone in the CSV, through
`portal.csv_export`). The CSV rows go through `portal.csv_export.SafeWriter`, which neutralises formulas.
"""

from decimal import Decimal

from billing.models import LedgerEntryKind
from billing.selectors import Statement
from portal.csv_export import operator_iso


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _topup(entry) -> dict:
    payment = entry.payment
    receipt = getattr(payment, "receipt", None) if payment is not None else None  # a missing one-to-one raises
    return {
        "ledger_entry_id": entry.id,
        "created_at": operator_iso(entry.created_at),
        "credits": _money(entry.amount),
        "payment_id": payment.id if payment is not None else None,
        "method": payment.method if payment is not None else "",
        "reference": payment.reference if payment is not None else "",
        "amount_php": _money(payment.amount_php) if payment is not None else None,
        "receipt_number": receipt.number if receipt is not None else None,
    }


def statement_to_dict(statement: Statement) -> dict:
    return {
        "month": f"{statement.month:%Y-%m}",
        "currency": "credits",
        "opening_balance": _money(statement.opening_balance),
        "closing_balance": _money(statement.closing_balance),
        "credits_topped_up": _money(statement.credits_topped_up),
        "credits_charged": _money(statement.credits_charged),
        "credits_refunded": _money(statement.credits_refunded),
        "credits_adjusted": _money(statement.totals[LedgerEntryKind.ADJUSTMENT]),
        "credits_expired": _money(statement.credits_expired),
        "net_change": _money(statement.net_change),
        "segments_charged": statement.segments_charged,
        "segments_refunded": statement.segments_refunded,
        "traffic_available": statement.traffic_available,
        "traffic": [dict(row) for row in statement.traffic],
        "topups": [_topup(entry) for entry in statement.topups],
    }


def statement_csv_rows(statement: Statement) -> list[list]:
    """The statement as CSV rows: summary, traffic per network and route, top-ups."""
    data = statement_to_dict(statement)
    rows: list[list] = [
        ["Statement", statement.organization.name, data["month"], "credits"],
        ["Opening balance", data["opening_balance"]],
        ["Top-ups", data["credits_topped_up"]],
        ["Charged", data["credits_charged"]],
        ["Refunded", data["credits_refunded"]],
        ["Adjustments", data["credits_adjusted"]],
        ["Expired", data["credits_expired"]],
        ["Closing balance", data["closing_balance"]],
        ["Segments charged", data["segments_charged"]],
        ["Segments refunded", data["segments_refunded"]],
        [],
        ["Network", "Provider", "Messages", "Segments", "Failed segments (refunded)", "Billable segments"],
    ]
    rows += [
        [
            row["network"],
            row["provider"],
            row["messages"],
            row["segments"],
            row["failed_segments"],
            row["billable_segments"],
        ]
        for row in data["traffic"]
    ]
    rows += [[], ["Top-up time", "Receipt", "Method", "Reference", "Amount paid (PHP)", "Credits"]]
    rows += [
        [
            topup["created_at"],
            topup["receipt_number"] or "",
            topup["method"],
            topup["reference"],
            topup["amount_php"] or "",
            topup["credits"],
        ]
        for topup in data["topups"]
    ]
    return rows
