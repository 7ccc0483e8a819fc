"""Delivery receipts: provider callbacks and status polls move a sent message forward, never backwards.

Receipts are stored as received (`DeliveryReceipt`). One for a message whose provider id is not written yet
(the provider fired it while the worker was still recording the send) is kept unmatched and applied when the
worker writes the id. Applying is idempotent: the same receipt twice changes nothing the second time, and a final
state (delivered, failed, expired, rejected) is never left. A message that fails after the provider took it is
refunded (exactly once: billing enforces it); an expired one is not (the network carried it).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging.models import DeliveryReceipt, Message, MessageStatus, Provider
from messaging.providers.base import DeliveryReport, DeliveryState, ProviderError
from messaging.providers.registry import get_adapter_class, provider_adapter_build
from messaging.services import daily_counts
from messaging.services.db import lock_rows
from messaging.services.status import is_forward, message_finalize, status_set
from messaging.services.webhooks import webhook_events_record
from portal.errors import ApplicationError, NotFound
from portal.timezone import operator_tz

logger = logging.getLogger(__name__)

STATE_TO_STATUS = {
    DeliveryState.SENT: MessageStatus.SENT,
    DeliveryState.DELIVERED: MessageStatus.DELIVERED,
    DeliveryState.FAILED: MessageStatus.FAILED,
    DeliveryState.EXPIRED: MessageStatus.EXPIRED,
    DeliveryState.REJECTED: MessageStatus.REJECTED,
}


# A batch of receipts moves the daily counts in one statement at its end (`daily_counts`).
@daily_counts.counts_collected()
def _apply(receipts: list[DeliveryReceipt], *, now: datetime) -> int:
    """Apply stored receipts to their messages (inside a transaction). Returns how many messages changed."""
    ids_by_provider: dict[int, set[str]] = {}
    for receipt in receipts:
        ids_by_provider.setdefault(receipt.provider_id, set()).add(receipt.provider_message_id)
    query = Q()
    for provider_id, ids in ids_by_provider.items():
        query |= Q(provider_id=provider_id, provider_message_id__in=ids)
    if not query:
        return 0
    messages = {
        (m.provider_id, m.provider_message_id): m
        for m in lock_rows(Message.objects.unscoped()).select_related("organization", "provider").filter(query)
    }
    changed: dict[int, Message] = {}
    for receipt in sorted(receipts, key=lambda r: (r.occurred_at or r.received_at, r.received_at)):
        message = messages.get((receipt.provider_id, receipt.provider_message_id))
        if message is None:
            continue
        receipt.message = message
        receipt.applied_at = now
        new_status = STATE_TO_STATUS.get(receipt.state)
        if new_status is None or not is_forward(message.status, new_status):
            continue
        if new_status in (MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.EXPIRED):
            message_finalize(
                message,
                new_status,
                now=receipt.occurred_at or now,
                error_code=receipt.error_code or f"delivery_{receipt.state}",
                error_message=receipt.error_message or f"The network reported {receipt.state}.",
                refund_reason=f"delivery_{receipt.state}",
            )
        else:
            status_set(message, new_status, now=receipt.occurred_at or now)
        changed[message.pk] = message
    if changed:
        Message.objects.unscoped().bulk_update(
            list(changed.values()),
            [
                "status",
                "status_changed_at",
                "sent_at",
                "delivered_at",
                "failed_at",
                "expired_at",
                "rejected_at",
                "error_code",
                "error_message",
            ],
        )
        webhook_events_record(messages=list(changed.values()))
    return len(changed)


def _aware(moment: datetime | None, *, now: datetime) -> datetime | None:
    """Providers report local Philippine time (the operator's zone) without an offset (Semaphore); never a time in
    the future."""
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=operator_tz())
    return min(moment, now)


@transaction.atomic
def delivery_reports_apply(*, provider: Provider, reports: Iterable[DeliveryReport]) -> int:
    """Store the reports and apply them; returns how many messages changed status."""
    now = timezone.now()
    receipts = [
        DeliveryReceipt(
            provider=provider,
            provider_message_id=report.provider_message_id[:100],
            state=report.state,
            error_code=(report.error_code or "")[:60],
            error_message=report.error_message or "",
            occurred_at=_aware(report.occurred_at, now=now),
            received_at=now,
        )
        for report in reports
        if report.provider_message_id
    ]
    if not receipts:
        return 0
    changed = _apply(receipts, now=now)
    DeliveryReceipt.objects.bulk_create(receipts, batch_size=500)
    return changed


def delivery_receipts_apply_pending(*, provider: Provider, provider_message_ids: list[str]) -> int:
    """Apply receipts that arrived before the worker wrote these provider ids (inside its transaction)."""
    pending = list(
        DeliveryReceipt.objects.filter(
            provider=provider, provider_message_id__in=provider_message_ids, message__isnull=True
        )
    )
    if not pending:
        return 0
    changed = _apply(pending, now=timezone.now())
    DeliveryReceipt.objects.bulk_update(pending, ["message", "applied_at"])
    return changed


def delivery_callback_handle(*, adapter: str, provider_id: int, secret: str, data, headers: dict) -> int:
    """A provider's delivery callback: the URL's secret authenticates the provider (404 when wrong, like a missing
    route), the adapter parses the body, the reports are applied."""
    provider = Provider.objects.filter(pk=provider_id, adapter=adapter).first()
    if provider is None or not hmac.compare_digest(provider.callback_secret.encode(), secret.encode()):
        raise NotFound("No such callback.")
    if not isinstance(data, dict):
        raise ApplicationError("Expected a JSON object.", code="invalid_callback")
    try:
        with provider_adapter_build(provider) as client:
            reports = client.parse_callback(data=data, headers=headers)
    except (ProviderError, NotImplementedError) as error:
        raise ApplicationError(f"Cannot read this callback: {error}", code="invalid_callback")
    return delivery_reports_apply(provider=provider, reports=reports)


def delivery_poll_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Ask providers about messages still `sent` (oldest check first): soon after sending for providers without
    callbacks, and, for providers with callbacks that can also be asked, once a receipt is overdue (a callback
    can be lost: our site was down, or the provider gave up)."""
    now = now or timezone.now()
    sent_long_enough = Q()
    providers = []
    for provider in Provider.objects.all():
        callbacks, polling = _capabilities(provider)
        if not polling:
            continue
        providers.append(provider)
        if callbacks:
            # Asked once: a provider whose last word is "sent" would otherwise be asked until we give up.
            wait = settings.SMS_STATUS_POLL_MISSING_RECEIPT_SECONDS
            sent_long_enough |= Q(
                provider=provider, last_polled_at__isnull=True, sent_at__lte=now - timedelta(seconds=wait)
            )
        else:
            wait = settings.SMS_STATUS_POLL_AFTER_SECONDS
            sent_long_enough |= Q(provider=provider, sent_at__lte=now - timedelta(seconds=wait))
    if not providers:
        return 0
    due = list(
        Message.objects.unscoped()  # the polling job serves every organization
        .filter(
            sent_long_enough,
            status=MessageStatus.SENT,
            sent_at__gte=now - timedelta(seconds=settings.SMS_STATUS_POLL_GIVE_UP_SECONDS),
        )
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - timedelta(minutes=5)))
        .exclude(provider_message_id="")
        .order_by(F("last_polled_at").asc(nulls_first=True), "sent_at")
        .only("id", "provider_id", "provider_message_id")[:limit]
    )
    changed = 0
    by_provider = {p.pk: p for p in providers}
    for provider_id in {m.provider_id for m in due}:
        provider = by_provider[provider_id]
        reports = []
        polled = [m.pk for m in due if m.provider_id == provider_id]
        try:
            with provider_adapter_build(provider) as client:
                for message in due:
                    if message.provider_id != provider_id:
                        continue
                    try:
                        reports.append(client.fetch_status(provider_message_id=message.provider_message_id))
                    except ProviderError as error:
                        logger.info("status poll of %s failed: %s", message.provider_message_id, error)
        except ProviderError as error:
            logger.warning("cannot poll provider %s: %s", provider.name, error)
            continue
        Message.objects.unscoped().filter(id__in=polled).update(last_polled_at=now)
        changed += delivery_reports_apply(provider=provider, reports=reports)
    return changed


def _capabilities(provider: Provider) -> tuple[bool, bool]:
    try:
        adapter_class = get_adapter_class(provider.adapter)
    except ProviderError:
        return (False, False)
    return (adapter_class.supports_delivery_callbacks, adapter_class.supports_status_polling)
