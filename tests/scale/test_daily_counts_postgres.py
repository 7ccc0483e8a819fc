"""On PostgreSQL, workers dispatching at once while requests keep sending and receipts arrive add to the same
daily count rows concurrently: no update is lost (the counts equal a recount), and no transaction deadlocks."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from billing.services import credits_adjust
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import Message, MessageStatus
from messaging.providers.base import DeliveryReport, DeliveryState
from messaging.services.delivery import delivery_reports_apply
from messaging.services.sending import message_send
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain
from tests.scale.test_daily_counts import counted, truth

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_together(*targets):
    errors = []
    barrier = threading.Barrier(len(targets))

    def runner(target):
        try:
            barrier.wait()
            target()
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


def test_concurrent_sends_dispatch_and_receipts_keep_the_counts_exact(org_a, provider_simulator, fast_retries):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent upserts need PostgreSQL; run with DATABASE_URL=postgres://...")
    credits_adjust(organization=org_a, actor=None, amount=Decimal("10000.00"), reason="test funds")
    primary, fallback = make_chain(provider_simulator, primary_quota=60)
    for start in range(0, 100, 50):
        numbers = [f"0917{i:07d}" for i in range(start, start + 50)]
        message_send(organization=org_a, recipients=numbers, body="x", channel="api")

    def keep_sending():
        for start in range(100, 200, 20):
            numbers = [f"0917{i:07d}" for i in range(start, start + 20)]
            message_send(organization=org_a, recipients=numbers, body="y", channel="api")

    def receipts():
        for _ in range(5):
            sent = list(
                Message.objects.unscoped()
                .filter(status=MessageStatus.SENT, provider=fallback)
                .values_list("provider_message_id", flat=True)[:20]
            )
            reports = [DeliveryReport(provider_message_id=pmid, state=DeliveryState.DELIVERED) for pmid in sent]
            delivery_reports_apply(provider=fallback, reports=reports)

    def work():
        dispatch_queued_messages(batch_size=15)

    _run_together(work, work, keep_sending, receipts)
    dispatch_queued_messages()  # what a worker left while the others held rows

    by_status = Counter()
    for (_, status, *_), (n, _) in counted(org_a).items():
        by_status[status] += n
    assert sum(by_status.values()) == 200
    assert by_status["queued"] == by_status["sending"] == 0
    assert counted(org_a) == truth(org_a)
