"""Status transitions of a message: the timestamp each state sets; status never moves backwards."""

from __future__ import annotations

from datetime import datetime

from messaging.models import FINAL_MESSAGE_STATUSES, Message, MessageStatus

STATUS_TIMESTAMP_FIELD = {
    MessageStatus.SENT: "sent_at",
    MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.FAILED: "failed_at",
    MessageStatus.EXPIRED: "expired_at",
    MessageStatus.REJECTED: "rejected_at",
    MessageStatus.CANCELLED: "cancelled_at",
}

_RANK = {MessageStatus.QUEUED: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2}

# Statuses that give the customer their money back (exactly once, enforced by billing).
REFUNDED_STATUSES = frozenset({MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.CANCELLED})


def status_rank(status: str) -> int:
    return _RANK.get(status, 3)


def is_forward(current: str, new: str) -> bool:
    """A receipt may only move a message forward; a final state is never left (delivered stays delivered)."""
    if current in FINAL_MESSAGE_STATUSES:
        return False
    return status_rank(new) > status_rank(current)


def status_set(
    message: Message,
    status: str,
    *,
    now: datetime,
    error_code: str | None = None,
    error_message: str | None = None,
) -> list[str]:
    """Set the status, its timestamp and (optionally) the error on the instance; returns fields to save."""
    message.status = status
    message.status_changed_at = now
    fields = ["status", "status_changed_at"]
    timestamp_field = STATUS_TIMESTAMP_FIELD.get(status)
    if timestamp_field and getattr(message, timestamp_field) is None:
        setattr(message, timestamp_field, now)
        fields.append(timestamp_field)
    if error_code is not None:
        message.error_code = error_code[:60]
        message.error_message = error_message or ""
        fields += ["error_code", "error_message"]
    return fields
