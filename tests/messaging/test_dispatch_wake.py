"""A send wakes the dispatcher once per run, not once per request: while a run it asked for has not started, later
sends enqueue nothing (that run will claim their messages too); once a run starts, the next send enqueues another;
a run that does not start within WAKE_PATIENCE is asked for again; a run stopped at its round limit hands over."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.errors import InsufficientCredits
from billing.services import credits_adjust
from messaging import tasks
from messaging.dispatch.wake import WAKE_PATIENCE, dispatcher_run_started, wake_pending_clause
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.enqueue import DISPATCH_OTP, DISPATCH_QUEUED
from messaging.models import Message, MessageStatus
from messaging.models_dispatch import DispatchWake
from messaging.services.sending import message_send

from .conftest import closed_port_route

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch):
    paths: list[str] = []
    monkeypatch.setattr("messaging.dispatch.wake.enqueue_now", paths.append)
    return paths


@pytest.fixture
def funded(org_a):
    closed_port_route(name="Route", adapter="semaphore", sender_name="ROUTE", priority=1)
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test")
    return org_a


def _send(organization, channel="api"):
    return message_send(organization=organization, recipients=["09171234567"], body="Hello", channel=channel)


def test_sends_while_a_run_waits_enqueue_nothing_more(funded, enqueued):
    _send(funded)
    _send(funded)
    _send(funded)
    assert enqueued == [DISPATCH_QUEUED]
    assert DispatchWake.objects.get(task_path=DISPATCH_QUEUED).wanted_at is not None


def test_a_send_after_the_run_started_wakes_another(funded, enqueued):
    _send(funded)
    dispatcher_run_started(task_path=DISPATCH_QUEUED)
    assert DispatchWake.objects.get(task_path=DISPATCH_QUEUED).wanted_at is None
    _send(funded)
    _send(funded)
    assert enqueued == [DISPATCH_QUEUED, DISPATCH_QUEUED]


def test_a_run_that_does_not_start_is_asked_for_again_after_the_patience(funded, enqueued):
    _send(funded)
    DispatchWake.objects.filter(task_path=DISPATCH_QUEUED).update(
        wanted_at=timezone.now() - WAKE_PATIENCE - timedelta(seconds=1)
    )
    _send(funded)
    _send(funded)
    assert enqueued == [DISPATCH_QUEUED, DISPATCH_QUEUED]


def test_the_row_is_created_again_when_it_is_gone(funded, enqueued):
    _send(funded)
    DispatchWake.objects.all().delete()
    _send(funded)
    assert enqueued == [DISPATCH_QUEUED, DISPATCH_QUEUED]
    assert DispatchWake.objects.filter(task_path=DISPATCH_QUEUED).exists()


def test_one_time_codes_wake_their_own_dispatcher(funded, enqueued):
    _send(funded)
    _send(funded, channel="otp")
    _send(funded, channel="otp")
    assert enqueued == [DISPATCH_QUEUED, DISPATCH_OTP]


def test_a_send_that_rolls_back_wakes_nothing(funded, org_b, enqueued):
    with pytest.raises(InsufficientCredits):
        _send(org_b)
    assert enqueued == []
    assert not DispatchWake.objects.exists()


def test_the_dispatch_task_starts_by_clearing_its_wake_up(funded, enqueued, monkeypatch):
    _send(funded)
    tasks.dispatch_queued.call()
    assert DispatchWake.objects.get(task_path=DISPATCH_QUEUED).wanted_at is None
    assert enqueued == [DISPATCH_QUEUED]


def test_a_run_stopped_at_its_round_limit_wakes_the_next(funded, enqueued, monkeypatch):
    _send(funded)
    monkeypatch.setattr(tasks, "dispatch_queued_messages", lambda: dispatch_queued_messages(max_rounds=0))
    tasks.dispatch_queued.call()
    assert enqueued == [DISPATCH_QUEUED, DISPATCH_QUEUED]


def test_a_run_stopped_at_its_round_limit_says_more_is_left(funded, enqueued, monkeypatch):
    for _ in range(3):
        _send(funded)
    # The route is a closed port: each claimed message fails over to nothing and is settled; one per round.
    summary = dispatch_queued_messages(batch_size=1, max_rounds=1)
    assert summary.more_left
    summary = dispatch_queued_messages(batch_size=10, max_rounds=50)
    assert not summary.more_left
    assert not Message.objects.unscoped().filter(status=MessageStatus.QUEUED, next_attempt_at__lte=timezone.now())


@pytest.mark.postgres
def test_a_send_in_one_statement_that_finds_a_run_pending_costs_no_second_statement(funded, enqueued):
    _send(funded)
    with CaptureQueriesContext(connection) as queries:
        _send(funded)
    assert len(queries.captured_queries) == 1
    assert enqueued == [DISPATCH_QUEUED]


@pytest.mark.postgres
def test_a_run_does_not_empty_the_row_before_a_send_statement_that_read_it_commits(funded):
    """The send statement's share lock: the run's emptying (and so its claim) waits for the send's commit."""
    sql, params = wake_pending_clause(DISPATCH_QUEUED)
    DispatchWake.objects.create(task_path=DISPATCH_QUEUED, wanted_at=timezone.now())
    read, release, emptied = threading.Event(), threading.Event(), threading.Event()

    def send_statement_in_flight():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SELECT {sql}", params)
                read.set()
                assert release.wait(30)
        finally:
            connections.close_all()

    def run_starts():
        try:
            dispatcher_run_started(task_path=DISPATCH_QUEUED)
            emptied.set()
        finally:
            connections.close_all()

    sender = threading.Thread(target=send_statement_in_flight)
    sender.start()
    assert read.wait(30)
    run = threading.Thread(target=run_starts)
    run.start()
    assert not emptied.wait(0.5)  # waiting for the sender's lock
    release.set()
    sender.join(30)
    run.join(30)
    assert emptied.is_set()
    assert DispatchWake.objects.get(task_path=DISPATCH_QUEUED).wanted_at is None
