"""A test event for the organization's status webhook, sent at once, so an integrator can check the URL, the
signature check and the answer of their receiver before real status events arrive."""

from django.utils import timezone

from accounts.services import audit_log_record
from messaging.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from messaging.services.webhooks import webhook_deliver
from portal.errors import Conflict, NotFound

TEST_EVENT = "webhook.test"


def webhook_test_send(*, organization, actor=None, api_key=None) -> WebhookDelivery:
    """POST one signed `webhook.test` event to the webhook now and return its delivery (in the delivery log).

    Tried once: a test that fails is marked failed with the error, never retried later."""
    endpoint = WebhookEndpoint.objects.filter(organization=organization).first()
    if endpoint is None:
        raise NotFound("No webhook is configured.")
    if not endpoint.enabled:
        raise Conflict("The webhook is disabled; enable it before testing it.", code="webhook_disabled")
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        organization=organization,
        endpoint=endpoint,
        event=TEST_EVENT,
        payload={
            "event": TEST_EVENT,
            "occurred_at": now.isoformat(),
            "data": {"organization": organization.slug, "note": "A test event: no message changed status."},
        },
        next_attempt_at=now,
    )
    audit_log_record(
        event_type="webhook.tested", organization=organization, actor=actor, api_key=api_key, target=delivery
    )
    webhook_deliver(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(
        organization=organization, pk=delivery.pk, status=WebhookDeliveryStatus.PENDING
    ).update(status=WebhookDeliveryStatus.FAILED)
    return WebhookDelivery.objects.get(organization=organization, pk=delivery.pk)
