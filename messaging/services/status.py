"""Status transitions of a message: the timestamp each state sets; status never moves backwards; a message that
ends without reaching the network gives its money back once (`message_finalize`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from billing import services as billing_services
from messaging.models import FINAL_MESSAGE_STATUSES, Message, MessageStatus
from messaging.services.daily_counts import count_status_moved, count_statuses_moved

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
    """Set the status, its timestamp and (optionally) the error on the instance; returns fields to save.

    The move is counted in the dashboard's daily counts (`daily_counts`), in the caller's transaction, which must
    save the returned fields of a stored message."""
    count_status_moved(message, message.status, status)
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


def statuses_set(messages: Iterable[Message], status: str, *, now: datetime) -> None:
    """`status_set` (without an error) for a batch of messages that all move to `status`, their moves counted in one
    pass (`count_statuses_moved`); the caller saves them as `status_set` says."""
    messages = list(messages)
    count_statuses_moved(messages, status)
    timestamp_field = STATUS_TIMESTAMP_FIELD.get(status)
    for message in messages:
        message.status = status
        message.status_changed_at = now
        if timestamp_field and getattr(message, timestamp_field) is None:
            setattr(message, timestamp_field, now)


def message_finalize(
    message: Message,
    status: str,
    *,
    now: datetime,
    error_code: str,
    error_message: str,
    refund_reason: str | None = None,
) -> list[str]:
    """End a message that will not be delivered: failed, rejected, cancelled or expired.

    Sets the status, its timestamp and the error on the instance and, for the statuses that give the money back
    (`REFUNDED_STATUSES`: not expired, which the network carried), refunds what it was charged through billing,
    which refunds a message at most once. `refund_reason` defaults to the error code. The caller saves the
    instance (the fields are returned) in its transaction, with `message.organization` loaded.
    """
    if status not in FINAL_MESSAGE_STATUSES or status == MessageStatus.DELIVERED:
        raise ValueError(f"{status!r} is not a status a message ends in undelivered")
    # The refund (which locks the organization's credit account) comes before the status change is counted: the
    # daily count rows are the last rows a transaction locks (`daily_counts`).
    if status in REFUNDED_STATUSES and message.price:
        billing_services.message_refund(
            organization=message.organization, message_id=message.pk, reason=refund_reason or error_code
        )
    return status_set(message, status, now=now, error_code=error_code, error_message=error_message)
