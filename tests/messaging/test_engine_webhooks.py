"""Status webhooks: every status change is POSTed signed (HMAC SHA-256 over timestamp + body), failures are
retried with backoff, and the organization sees its delivery log."""

import json
from datetime import timedelta

from django.utils import timezone

from messaging.models import WebhookDelivery, WebhookDeliveryStatus
from messaging.selectors import webhook_delivery_list
from messaging.services.sending import message_send
from messaging.services.webhooks import webhook_deliver_due, webhook_endpoint_set
from portal.errors import ApplicationError
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import WebhookReceiver


def test_status_changes_are_posted_signed(
    chain, funded_org_a, funded_org_b, webhook_receiver, django_capture_on_commit_callbacks
):
    _, secret = webhook_endpoint_set(organization=funded_org_a, url=webhook_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        [message] = message_send(organization=funded_org_a, recipients=["09171234567"], body="Hi", channel="api")
        message_send(organization=funded_org_b, recipients=["09171234567"], body="Not for A's hook", channel="api")
    [request] = webhook_receiver.requests
    assert WebhookReceiverCheck.valid(request, secret)
    assert not WebhookReceiverCheck.valid(request, "another-secret-of-16+")
    payload = json.loads(request["raw"])
    assert payload["event"] == "message.status"
    assert payload["data"]["id"] == message.pk
    assert payload["data"]["status"] == "sent"
    assert payload["data"]["sender_name"] == "IPROGSMS"
    [delivery] = webhook_delivery_list(organization=funded_org_a)
    assert delivery.status == WebhookDeliveryStatus.DELIVERED and delivery.last_status_code == 200
    assert list(webhook_delivery_list(organization=funded_org_b)) == []


class WebhookReceiverCheck:
    @staticmethod
    def valid(request, secret):
        return WebhookReceiver.signature_valid(request, secret)


def test_failed_delivery_is_retried_with_backoff_until_it_succeeds(
    chain, funded_org_a, webhook_receiver, django_capture_on_commit_callbacks, settings
):
    settings.SMS_WEBHOOK_RETRY_BASE_SECONDS = 60
    _, secret = webhook_endpoint_set(organization=funded_org_a, url=webhook_receiver.url)
    webhook_receiver.fail_next = 2
    with django_capture_on_commit_callbacks(execute=True):
        message_send(organization=funded_org_a, recipients=["09171234567"], body="Hi", channel="api")
    delivery = WebhookDelivery.objects.unscoped().get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=29)  # backoff, with jitter
    assert webhook_deliver_due() == 0  # not due yet

    WebhookDelivery.objects.unscoped().update(next_attempt_at=timezone.now())
    assert webhook_deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    first_gap = delivery.next_attempt_at - timezone.now()
    assert first_gap >= timedelta(seconds=59)  # doubled

    WebhookDelivery.objects.unscoped().update(next_attempt_at=timezone.now())
    webhook_deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert len(webhook_receiver.requests) == 3
    # Every try carries the same event, freshly signed.
    assert len({r["raw"] for r in webhook_receiver.requests}) == 1
    assert all(WebhookReceiverCheck.valid(r, secret) for r in webhook_receiver.requests)


def test_gives_up_after_max_attempts(
    chain, funded_org_a, webhook_receiver, django_capture_on_commit_callbacks, settings
):
    settings.SMS_WEBHOOK_MAX_ATTEMPTS = 2
    webhook_endpoint_set(organization=funded_org_a, url=webhook_receiver.url)
    webhook_receiver.fail_next = 5
    with django_capture_on_commit_callbacks(execute=True):
        message_send(organization=funded_org_a, recipients=["09171234567"], body="Hi", channel="api")
    WebhookDelivery.objects.unscoped().update(next_attempt_at=timezone.now())
    webhook_deliver_due()
    delivery = WebhookDelivery.objects.unscoped().get()
    assert (delivery.status, delivery.attempts) == (WebhookDeliveryStatus.FAILED, 2)
    assert webhook_deliver_due() == 0


def test_private_addresses_refused_unless_allowed(funded_org_a, settings):
    settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    for url in ["http://example.com/hook", "https://127.0.0.1/hook", "https://10.0.0.5/hook", "ftp://x/y"]:
        try:
            webhook_endpoint_set(organization=funded_org_a, url=url)
        except ApplicationError as error:
            assert error.code == "invalid_webhook_url"
        else:
            raise AssertionError(f"{url} was accepted")


def test_disabled_endpoint_gets_nothing(chain, funded_org_a, webhook_receiver, django_capture_on_commit_callbacks):
    webhook_endpoint_set(organization=funded_org_a, url=webhook_receiver.url, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        message_send(organization=funded_org_a, recipients=["09171234567"], body="Hi", channel="api")
    assert webhook_receiver.requests == []
    assert not WebhookDelivery.objects.unscoped().exists()
