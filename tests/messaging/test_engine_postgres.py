"""Concurrency on PostgreSQL: two workers claiming at once never share a message or overrun a quota; two
requests with one Idempotency-Key create one send."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from billing.services import credits_adjust
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.sending import message_send
from tests.conftest import bearer_client
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(target, count=2):
    errors = []
    barrier = threading.Barrier(count)

    def runner():
        try:
            barrier.wait()
            target()
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


@pytest.fixture
def funded(org_a):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10000.00"), reason="test funds")
    return org_a


def test_two_workers_send_each_message_once_and_respect_the_quota(provider_simulator, fast_retries, funded):
    primary, fallback = make_chain(provider_simulator, primary_quota=50)
    for start in range(0, 200, 50):
        message_send(
            organization=funded,
            recipients=[f"0917{i:07d}" for i in range(start, start + 50)],
            body="Concurrent",
            channel="api",
        )
    run_in_threads(lambda: dispatch_queued_messages(batch_size=20), count=3)
    dispatch_queued_messages()  # anything a worker skipped while the others held locks

    sent = Counter(m["recipient"] for m in provider_simulator.sent)
    assert len(sent) == 200 and set(sent.values()) == {1}
    assert Message.objects.unscoped().filter(status=MessageStatus.SENT).count() == 200
    assert Message.objects.unscoped().filter(provider=primary).count() == 50
    assert Message.objects.unscoped().filter(provider=fallback, sender_name="iprogtech").count() == 150
    accepted = DispatchAttempt.objects.filter(status=AttemptStatus.ACCEPTED).values_list("message_id", flat=True)
    assert len(accepted) == len(set(accepted)) == 200
    assert primary.monthly_usage.get().messages == 50


def test_concurrent_requests_with_one_idempotency_key_send_once(provider_simulator, fast_retries, funded, api_key_a):
    make_chain(provider_simulator)
    answers = []

    def post():
        client = bearer_client(api_key_a[1])
        response = client.post(
            "/api/v1/messages",
            {"to": ["09171234567"], "body": "Once"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="same",
        )
        answers.append(response)

    run_in_threads(post, count=2)
    assert sorted(r.status_code for r in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Message.objects.unscoped().count() == 1
    assert len(charges(funded)) == 1
