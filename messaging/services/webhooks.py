"""Status webhooks: every status change of a message is POSTed to the organization's URL, signed, retried.

Signature: `X-Portal-Timestamp: <unix seconds>` and `X-Portal-Signature: sha256=<hex>` where hex is
HMAC-SHA256(secret, f"{timestamp}." + raw body). Receivers recompute it over the raw body and refuse timestamps
older than a few minutes (replays). A delivery is retried with exponential backoff and jitter until
`SMS_WEBHOOK_MAX_ATTEMPTS`, and every try is visible to the customer in the delivery log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.services import audit_log_record
from messaging.enqueue import DELIVER_WEBHOOKS, enqueue_on_commit
from messaging.models import Message, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from messaging.representation import message_to_dict
from messaging.services.outbound import check_public_url, post_to_public_url
from portal.errors import ApplicationError, NotFound

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _validate_webhook_url(url: str) -> str:
    return check_public_url(url)


@transaction.atomic
def webhook_endpoint_set(
    *, organization, actor=None, url: str, secret: str | None = None, enabled: bool = True
) -> tuple[WebhookEndpoint, str | None]:
    """Create or change the organization's webhook. Returns it with the secret to show: a new one (given, or
    generated for a new webhook), or None when the existing secret is kept (it was shown once, when set)."""
    url = _validate_webhook_url(url)
    if secret is not None and len(secret) < 16:
        raise ApplicationError("A webhook secret needs at least 16 characters.", code="invalid_webhook_secret")
    endpoint = WebhookEndpoint.objects.select_for_update().filter(organization=organization).first()
    if endpoint is None:
        endpoint = WebhookEndpoint(organization=organization)
        secret = secret or f"whsec_{secrets.token_urlsafe(32)}"
    if secret is not None:
        endpoint.secret = secret
    endpoint.url, endpoint.enabled = url, enabled
    endpoint.save()
    audit_log_record(
        event_type="webhook.configured",
        organization=organization,
        actor=actor,
        target=endpoint,
        extra={"url": url},
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_delete(*, organization, actor=None) -> None:
    deleted, _ = WebhookEndpoint.objects.filter(organization=organization).delete()
    if not deleted:
        raise NotFound("No webhook is configured.")
    audit_log_record(event_type="webhook.deleted", organization=organization, actor=actor)


def webhook_events_record(*, messages: Iterable[Message]) -> int:
    """Queue one status event per message for organizations that have an enabled webhook (call inside the
    transaction that changed the status; the deliveries are sent after it commits)."""
    messages = list(messages)
    if not messages:
        return 0
    endpoints = {
        endpoint.organization_id: endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            organization_id__in={m.organization_id for m in messages}, enabled=True
        )
    }
    if not endpoints:
        return 0
    now = timezone.now()
    deliveries = [
        WebhookDelivery(
            organization_id=message.organization_id,
            endpoint=endpoints[message.organization_id],
            message_id=message.pk,
            event="message.status",
            payload={
                "event": "message.status",
                "occurred_at": now.isoformat(),
                "data": message_to_dict(message),
            },
            next_attempt_at=now,
        )
        for message in messages
        if message.organization_id in endpoints
    ]
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=500)
    enqueue_on_commit(DELIVER_WEBHOOKS, delivery_ids=[delivery.pk for delivery in deliveries])
    return len(deliveries)


def _backoff(attempts: int) -> timedelta:
    base = settings.SMS_WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(base, 6 * 3600) * random.uniform(0.5, 1.0))


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """Try one pending, due delivery once. Returns None when it is not due, already done or taken by another
    worker. The row is leased (next_attempt_at pushed past the HTTP timeout) before the POST, so two workers
    never post the same try."""
    now = timezone.now()
    with transaction.atomic():
        queryset = WebhookDelivery.objects.unscoped()  # the delivery worker loads it by id
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        delivery = (
            queryset.select_related("endpoint")
            .filter(id=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.enabled:
            delivery.status = WebhookDeliveryStatus.FAILED
            delivery.last_error = "The webhook was disabled before this event could be delivered."
            delivery.save(update_fields=["status", "last_error"])
            return delivery
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.SMS_WEBHOOK_TIMEOUT_SECONDS * 4)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "sms-portal-webhooks/1",
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=timestamp, body=body),
    }
    status_code, error = None, ""
    try:
        response = post_to_public_url(
            endpoint.url, data=body, headers=headers, timeout=settings.SMS_WEBHOOK_TIMEOUT_SECONDS
        )
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except ApplicationError as exc:  # the host now resolves somewhere it must not: never connected
        error = exc.message[:500]
    except requests.RequestException as exc:
        # The class of failure only: exception texts can describe other hosts' networks.
        error = f"Could not reach the webhook URL ({type(exc).__name__})."
    finished = timezone.now()
    delivery.last_status_code = status_code
    delivery.last_error = error
    if not error:
        delivery.status = WebhookDeliveryStatus.DELIVERED
        delivery.delivered_at = finished
    elif delivery.attempts >= settings.SMS_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDeliveryStatus.FAILED
        logger.warning("webhook delivery %s given up after %s tries: %s", delivery.pk, delivery.attempts, error)
    else:
        delivery.next_attempt_at = finished + _backoff(delivery.attempts)
    WebhookDelivery.objects.filter(organization_id=delivery.organization_id, pk=delivery.pk).update(
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        status=delivery.status,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at,
    )
    return delivery


def webhook_deliver_due(*, limit: int = 200) -> int:
    """Try every pending delivery whose time has come (the periodic retry job); returns how many."""
    ids = list(
        WebhookDelivery.objects.unscoped()  # the retry job serves every organization
        .filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(1 for delivery_id in ids if webhook_deliver(delivery_id=delivery_id) is not None)


@transaction.atomic
def webhook_delivery_retry(*, organization, actor=None, delivery_id: int) -> WebhookDelivery:
    """Send a failed delivery again (a button in the customer's delivery log)."""
    delivery = WebhookDelivery.objects.select_for_update().filter(organization=organization, id=delivery_id).first()
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    if delivery.status == WebhookDeliveryStatus.DELIVERED:
        raise ApplicationError("This delivery already succeeded.", code="already_delivered", status=409)
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    enqueue_on_commit(DELIVER_WEBHOOKS, delivery_ids=[delivery.pk])
    return delivery
