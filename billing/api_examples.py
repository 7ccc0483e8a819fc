"""Examples of the billing API for the OpenAPI reference: for each operation the request an integrator makes (curl,
with a key that has the `billing` scope) and the answer. Money is a decimal string."""

from drf_spectacular.utils import OpenApiExample

BASE = "https://sms.example.com/api/v1"
AUTH = '-H "Authorization: Bearer $SMS_API_KEY"'

CHARGE = {
    "id": 2,
    "kind": "charge",
    "amount": "-1.00",
    "balance_after": "499.00",
    "segments": 1,
    "reason": "",
    "message_id": 1042,
    "payment_id": None,
    "created_at": "2026-11-30T07:25:37.429712+08:00",
}
TOPUP = {
    **CHARGE,
    "id": 1,
    "kind": "topup",
    "amount": "500.00",
    "balance_after": "500.00",
    "segments": 0,
    "message_id": None,
    "payment_id": 9,
    "created_at": "2026-11-30T07:20:00.000000+08:00",
}
PAYMENT = {
    "id": 9,
    "method": "gcash",
    "status": "confirmed",
    "amount_php": "500.00",
    "credits": "500.00",
    "reference": "cs_5Ynh3kT2",
    "created_at": "2026-11-30T07:18:00+08:00",
    "confirmed_at": "2026-11-30T07:20:00+08:00",
    "receipt_number": "OR-2026-000123",
}
RECEIPT = {
    "number": "OR-2026-000123",
    "issued_at": "2026-11-30T07:20:00+08:00",
    "billed_to": "Alpha Retail",
    "amount_php": "500.00",
    "credits": "500.00",
    "method": "gcash",
    "reference": "cs_5Ynh3kT2",
    "payment_id": 9,
}
STATEMENT_CSV = (
    "Statement,Alpha Retail,2026-11,credits\r\nOpening balance,0.00\r\nTop-ups,500.00\r\nCharged,1.00\r\n"
    "Refunded,0.00\r\nAdjustments,0.00\r\nExpired,0.00\r\nClosing balance,499.00\r\n..."
)


def answer(name: str, value, curl: str, *, media_type: str = "application/json") -> OpenApiExample:
    return OpenApiExample(
        name,
        value=value,
        response_only=True,
        status_codes=["200"],
        media_type=media_type,
        description=f"Request: `curl {curl}`",
    )


EXAMPLES: dict[str, list[OpenApiExample]] = {
    "balance_retrieve": [
        answer(
            "Balance and this month's use",
            {
                "balance": "499.00",
                "currency": "credits",
                "monthly_limit": None,
                "used_this_month": 1,
                "price_per_segment": "1.0000",
            },
            f"{AUTH} {BASE}/balance",
        )
    ],
    "billing_ledger_list": [
        answer(
            "The two latest entries",
            {"results": [CHARGE, TOPUP], "next": None, "next_before": None},
            f'{AUTH} "{BASE}/billing/ledger?limit=2"',
        )
    ],
    "billing_ledger_retrieve": [answer("A charge", CHARGE, f"{AUTH} {BASE}/billing/ledger/2")],
    "billing_payments_list": [
        answer("Top-ups", {"results": [PAYMENT], "next": None, "next_before": None}, f"{AUTH} {BASE}/billing/payments")
    ],
    "billing_payments_retrieve": [answer("A confirmed top-up", PAYMENT, f"{AUTH} {BASE}/billing/payments/9")],
    "billing_receipts_retrieve": [
        answer("An official receipt", RECEIPT, f"{AUTH} {BASE}/billing/receipts/OR-2026-000123")
    ],
    "ledger_list": [
        answer(
            "Charges of November",
            {"results": [CHARGE], "next": None, "next_cursor": None},
            f'{AUTH} "{BASE}/ledger?kind=charge&created_from=2026-11-01&page_size=50"',
        )
    ],
    "receipts_list": [
        answer(
            "Receipts of November",
            {"results": [RECEIPT], "next": None, "next_cursor": None},
            f'{AUTH} "{BASE}/receipts?issued_from=2026-11-01T00:00:00%2B08:00"',
        )
    ],
    "statement_get": [
        answer(
            "November's statement",
            {
                "month": "2026-11",
                "currency": "credits",
                "opening_balance": "0.00",
                "closing_balance": "499.00",
                "credits_topped_up": "500.00",
                "credits_charged": "1.00",
                "credits_refunded": "0.00",
                "credits_adjusted": "0.00",
                "credits_expired": "0.00",
                "net_change": "499.00",
                "segments_charged": 1,
                "segments_refunded": 0,
                "traffic_available": True,
                "traffic": [
                    {
                        "network": "globe",
                        "provider": "IPROGSMS",
                        "messages": 1,
                        "segments": 1,
                        "failed_segments": 0,
                        "billable_segments": 1,
                    }
                ],
                "topups": [],
            },
            f"{AUTH} {BASE}/statements/2026-11",
        )
    ],
    "statement_csv": [
        answer(
            "November's statement as CSV",
            STATEMENT_CSV,
            f"{AUTH} -o 2026-11.csv {BASE}/statements/2026-11.csv",
            media_type="text/csv",
        )
    ],
}
