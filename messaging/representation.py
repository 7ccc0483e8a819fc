"""The one JSON shape of a message, shared by the API answers and the status webhooks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.money import quantize_credits
from messaging.models import Message


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def message_to_dict(message: Message) -> dict[str, Any]:
    """`provider` is the route's name; load messages with `select_related("provider")` (no query each)."""
    error = None
    if message.error_code:
        error = {"code": message.error_code, "message": message.error_message}
    return {
        "id": message.pk,
        "to": message.recipient,
        "sender_name": message.sender_name,
        "body": message.body,
        "encoding": message.encoding,
        "segments": message.segments,
        # Credits with two decimals, as charged (prices are rounded per message) and as balances are shown.
        "price": str(quantize_credits(Decimal(message.price))),
        "status": message.status,
        "provider": message.provider.name if message.provider_id else None,
        "network": message.network,
        "channel": message.channel,
        "created_at": _iso(message.created_at),
        "send_at": _iso(message.send_at),
        "sent_at": _iso(message.sent_at),
        "delivered_at": _iso(message.delivered_at),
        "failed_at": _iso(message.failed_at),
        "cancelled_at": _iso(message.cancelled_at),
        "error": error,
    }


def message_row_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    """`message_to_dict` of a row of `selectors.message_row_page` (values, not a model instance): the same keys,
    values and order, so the list endpoint answers exactly what it answered with instances."""
    error_code = row["error_code"]
    return {
        "id": row["id"],
        "to": row["recipient"],
        "sender_name": row["sender_name"],
        "body": row["body"],
        "encoding": row["encoding"],
        "segments": row["segments"],
        "price": str(quantize_credits(row["price"])),
        "status": row["status"],
        "provider": row["provider__name"] if row["provider_id"] else None,
        "network": row["network"],
        "channel": row["channel"],
        "created_at": _iso(row["created_at"]),
        "send_at": _iso(row["send_at"]),
        "sent_at": _iso(row["sent_at"]),
        "delivered_at": _iso(row["delivered_at"]),
        "failed_at": _iso(row["failed_at"]),
        "cancelled_at": _iso(row["cancelled_at"]),
        "error": {"code": error_code, "message": row["error_message"]} if error_code else None,
    }
