"""Delivery receipts: callbacks from the simulator move statuses forward only, idempotently; failed deliveries
are refunded once; a receipt racing the worker is applied; polling-only providers are polled."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from messaging.dispatch import worker
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import DeliveryReceipt, Message, MessageStatus, Provider
from messaging.providers.base import DeliveryReport, DeliveryState
from messaging.services.delivery import delivery_poll_due, delivery_reports_apply
from messaging.services.sending import message_send
from tests.messaging.conftest import wait_until
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import callback_path, make_chain, refunds


def post_receipts(provider, sink_entries):
    client = Client()
    answers = []
    for entry in sink_entries:
        response = client.post(callback_path(provider), entry["body"], content_type="application/json")
        assert response.status_code == 200, response.content
        answers.append(response.json()["updated"])
    return answers


def send(org, recipients):
    return message_send(organization=org, recipients=recipients, body="Receipt test", channel="api")


def test_callbacks_mark_delivered_idempotently_and_never_backwards(
    chain, funded_org_a, provider_simulator, receipt_sink, django_capture_on_commit_callbacks
):
    primary, _ = chain
    provider_simulator.configure("iprog", callback_url=receipt_sink.url)
    with django_capture_on_commit_callbacks(execute=True):
        messages = send(funded_org_a, ["09171230001", "09171230002"])
    receipts = receipt_sink.wait_for(2)
    assert post_receipts(primary, receipts) == [1, 1]
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.delivered_at is not None
    # The same receipts again change nothing.
    assert post_receipts(primary, receipts) == [0, 0]
    # A late "sent" or "failed" after delivered is stored but ignored: delivered stays delivered.
    late = [
        {"body": {**receipts[0]["body"], "status": "failed"}},
        {"body": {**receipts[1]["body"], "status": "sent"}},
    ]
    assert post_receipts(primary, late) == [0, 0]
    assert set(Message.objects.unscoped().values_list("status", flat=True)) == {MessageStatus.DELIVERED}
    assert DeliveryReceipt.objects.count() == 6
    assert refunds(funded_org_a) == []


def test_failed_delivery_is_refunded_once(
    chain, funded_org_a, provider_simulator, receipt_sink, django_capture_on_commit_callbacks
):
    primary, _ = chain
    provider_simulator.configure("iprog", callback_url=receipt_sink.url, delivery_failure_rate=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        [message] = send(funded_org_a, ["09171230001"])
    receipts = receipt_sink.wait_for(1)
    post_receipts(primary, receipts)
    post_receipts(primary, receipts)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_message == "Simulated delivery failure"
    assert [e.message_id for e in refunds(funded_org_a)] == [message.pk]


def test_callback_with_a_wrong_secret_or_provider_is_404(chain, funded_org_a):
    primary, fallback = chain
    client = Client()
    body = {"message_id": "iSms-1", "status": "delivered"}
    wrong_secret = f"/api/v1/callbacks/iprog/{primary.pk}/not-the-secret"
    assert client.post(wrong_secret, body, content_type="application/json").status_code == 404
    other_provider = f"/api/v1/callbacks/iprog/{fallback.pk}/{fallback.callback_secret}"
    assert client.post(other_provider, body, content_type="application/json").status_code == 404
    assert not DeliveryReceipt.objects.exists()


def test_receipt_arriving_before_the_worker_writes_the_id_is_applied(
    chain, funded_org_a, provider_simulator, monkeypatch
):
    primary, _ = chain
    send(funded_org_a, ["09171230001"])
    real_record = worker.outcomes_record

    def record_after_receipt(group, outcomes, summary):
        # The provider's receipt lands between its answer and our write.
        delivery_reports_apply(
            provider=primary,
            reports=[
                DeliveryReport(provider_message_id=o.provider_message_id, state=DeliveryState.DELIVERED)
                for o in outcomes
            ],
        )
        assert DeliveryReceipt.objects.filter(message__isnull=True).count() == 1
        return real_record(group, outcomes, summary)

    monkeypatch.setattr(worker, "outcomes_record", record_after_receipt)
    dispatch_queued_messages()
    message = Message.objects.unscoped().get()
    assert message.status == MessageStatus.DELIVERED
    assert DeliveryReceipt.objects.get().message_id == message.pk


def test_polling_only_provider_is_polled(funded_org_a, provider_simulator, fast_retries):
    Provider.objects.create(
        name="IPROG polling",
        adapter="iprog_polling",
        base_url=provider_simulator.base_url,
        credentials=json.dumps({"api_token": "t"}),
        sender_name="IPROGSMS",
        priority=1,
    )
    send(funded_org_a, ["09171230001"])
    dispatch_queued_messages()
    message = Message.objects.unscoped().get()
    assert message.status == MessageStatus.SENT
    wait_until(lambda: provider_simulator.messages("iprog")[0]["status"] == "delivered")
    assert delivery_poll_due() == 0  # too early: polled only after SMS_STATUS_POLL_AFTER_SECONDS
    later = timezone.now() + timedelta(seconds=fast_retries.SMS_STATUS_POLL_AFTER_SECONDS + 1)
    assert delivery_poll_due(now=later) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.last_polled_at == later


@pytest.mark.parametrize(
    ("current", "state", "expected"),
    [
        (MessageStatus.SENT, DeliveryState.DELIVERED, MessageStatus.DELIVERED),
        (MessageStatus.SENT, DeliveryState.EXPIRED, MessageStatus.EXPIRED),
        (MessageStatus.DELIVERED, DeliveryState.FAILED, MessageStatus.DELIVERED),
        (MessageStatus.EXPIRED, DeliveryState.DELIVERED, MessageStatus.EXPIRED),
        (MessageStatus.SENT, DeliveryState.ACCEPTED, MessageStatus.SENT),
        (MessageStatus.SENT, DeliveryState.UNKNOWN, MessageStatus.SENT),
    ],
)
def test_status_only_moves_forward(chain, funded_org_a, current, state, expected):
    primary, _ = chain
    [message] = send(funded_org_a, ["09171230001"])
    Message.objects.unscoped().filter(pk=message.pk).update(status=current, provider=primary, provider_message_id="p-1")
    delivery_reports_apply(provider=primary, reports=[DeliveryReport(provider_message_id="p-1", state=state)])
    message.refresh_from_db()
    assert message.status == expected
    assert refunds(funded_org_a) == []


def test_semaphore_fallback_receipts_are_applied(
    provider_simulator, fast_retries, funded_org_a, receipt_sink, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator, primary_quota=0)
    provider_simulator.configure("semaphore", callback_url=receipt_sink.url, delivery_failure_rate=1.0)
    with django_capture_on_commit_callbacks(execute=True):
        [message] = send(funded_org_a, ["09171230001"])
    message.refresh_from_db()
    assert (message.provider_id, message.sender_name, message.status) == (fallback.pk, "iprogtech", "sent")
    post_receipts(fallback, receipt_sink.wait_for(1))
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert [e.message_id for e in refunds(funded_org_a)] == [message.pk]


def test_a_lost_receipt_is_asked_for_once_it_is_overdue(funded_org_a, provider_simulator, fast_retries, settings):
    # The simulator has no callback URL here: the receipt never arrives, as when our site was down.
    make_chain(provider_simulator)
    send(funded_org_a, ["09171230002"])
    dispatch_queued_messages()
    message = Message.objects.unscoped().get()
    assert message.status == MessageStatus.SENT
    wait_until(lambda: provider_simulator.messages("iprog")[0]["status"] == "delivered")
    soon = timezone.now() + timedelta(seconds=settings.SMS_STATUS_POLL_AFTER_SECONDS + 1)
    assert delivery_poll_due(now=soon) == 0  # callbacks are expected: not polled like a polling-only provider
    overdue = timezone.now() + timedelta(seconds=settings.SMS_STATUS_POLL_MISSING_RECEIPT_SECONDS + 1)
    assert delivery_poll_due(now=overdue) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert Message.objects.unscoped().get().last_polled_at == overdue
