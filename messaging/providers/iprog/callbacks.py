"""IPROG's message statuses and its delivery callback.

Not in IPROG's public documentation; chosen here and spoken by `messaging.simulator` (adjust when IPROG documents
it): the callback is POSTed as JSON to the URL configured at IPROG, `{"message_id": "...", "phone_number":
"639...", "status": "delivered|failed", "error": "", "timestamp": "<ISO 8601>"}`, or a list of those under
`"messages"`. The same status words come back from the status endpoint (`message_status`). Recorded bodies are in
`testdata/callback_*.json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from messaging.providers.base import DeliveryReport, DeliveryState

# IPROG's status words -> our provider-neutral states (anything else is UNKNOWN).
STATUS_MAPPING = {
    "pending": DeliveryState.ACCEPTED,
    "queued": DeliveryState.ACCEPTED,
    "processing": DeliveryState.ACCEPTED,
    "sent": DeliveryState.SENT,
    "success": DeliveryState.SENT,
    "completed": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "failed": DeliveryState.FAILED,
    "undelivered": DeliveryState.FAILED,
    "expired": DeliveryState.EXPIRED,
    "rejected": DeliveryState.REJECTED,
}


def delivery_state(value: object) -> DeliveryState:
    return STATUS_MAPPING.get(str(value or "").strip().lower(), DeliveryState.UNKNOWN)


def parse_timestamp(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None


def callback_reports(data: dict[str, Any]) -> list[DeliveryReport]:
    """One report per entry of a callback body that names a message; other entries are skipped."""
    entries = data.get("messages") if isinstance(data.get("messages"), list) else [data]
    reports = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("message_id"):
            continue
        reports.append(
            DeliveryReport(
                provider_message_id=str(entry["message_id"]),
                state=delivery_state(entry.get("status") or entry.get("message_status")),
                error_code=str(entry.get("error_code") or ""),
                error_message=str(entry.get("error") or ""),
                occurred_at=parse_timestamp(entry.get("timestamp") or entry.get("updated_at")),
                raw=entry,
            )
        )
    return reports
