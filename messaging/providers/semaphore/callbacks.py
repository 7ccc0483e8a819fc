"""Semaphore's message statuses, its message object as a delivery report, and its delivery callback.

Statuses (semaphore.co/docs): Queued, Pending (accepted), Sent (handed to the network: the last state Semaphore
reports for a successful message), Failed, Refunded (failed and credited back).

Not in the public documentation; chosen here and spoken by `messaging.simulator`: the callback is POSTed as JSON
to the configured URL, the message object with its new `status` (or a list of them under `"messages"`). Recorded
bodies are in `testdata/callback_*.json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from messaging.providers.base import DeliveryReport, DeliveryState

# Semaphore's status words -> our provider-neutral states (anything else is UNKNOWN).
STATUS_MAPPING = {
    "queued": DeliveryState.ACCEPTED,
    "pending": DeliveryState.ACCEPTED,
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "failed": DeliveryState.FAILED,
    "refunded": DeliveryState.FAILED,
    "expired": DeliveryState.EXPIRED,
    "rejected": DeliveryState.REJECTED,
}


def delivery_state(value: object) -> DeliveryState:
    return STATUS_MAPPING.get(str(value or "").strip().lower(), DeliveryState.UNKNOWN)


def parse_timestamp(value: object) -> datetime | None:
    """Semaphore writes "YYYY-MM-DD HH:MM:SS" (Philippine time, no offset)."""
    if not value:
        return None
    try:
        return parse_datetime(str(value).replace(" ", "T", 1))
    except ValueError:
        return None


def delivery_report(message: dict[str, Any], *, fallback_id: str) -> DeliveryReport:
    """A Semaphore message object (from a status poll or a callback) as a delivery report."""
    state = delivery_state(message.get("status"))
    return DeliveryReport(
        provider_message_id=str(message.get("message_id") or fallback_id),
        state=state,
        error_message=str(message.get("status")) if state == DeliveryState.FAILED else "",
        occurred_at=parse_timestamp(message.get("updated_at")),
        raw=message,
    )


def callback_reports(data: dict[str, Any]) -> list[DeliveryReport]:
    """One report per message object of a callback body; entries without a message id are skipped."""
    entries = data.get("messages") if isinstance(data.get("messages"), list) else [data]
    return [
        delivery_report(entry, fallback_id="")
        for entry in entries
        if isinstance(entry, dict) and entry.get("message_id") not in (None, "")
    ]
