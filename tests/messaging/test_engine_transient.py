"""Transient provider errors: a message backs off and is tried again, on the same provider once it is healthy again
(on the next provider of the chain while it is not); only a final answer about the message keeps a provider away
from it. Time is moved with freezegun, so the real backoff (with jitter) applies."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.providers.base import ProviderError
from messaging.providers.iprog.adapter import IprogAdapter
from messaging.routing import SkipReason
from messaging.services.sending import message_send
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, refunds

DONE = {MessageStatus.SENT, MessageStatus.DELIVERED}


@pytest.fixture
def real_backoff(fast_retries):
    """The engine's own backoff (10 s doubling, at most 10 minutes, with jitter) instead of the tests' zero."""
    fast_retries.SMS_RETRY_BASE_SECONDS = 10
    fast_retries.SMS_RETRY_MAX_SECONDS = 600
    return fast_retries


def dispatch_pass(clock, *, minutes: int = 11) -> None:
    """Let every backoff run out (the longest is 10 minutes), then one dispatch call."""
    clock.tick(timedelta(minutes=minutes))
    dispatch_queued_messages()


def test_messages_failed_by_transient_errors_all_go_out_once_the_provider_recovers(
    provider_simulator, real_backoff, funded_org_a
):
    primary, fallback = make_chain(provider_simulator)
    provider_simulator.configure(error_rate=0.3)  # both routes: 30 % of the calls fail with a transient error
    with freeze_time(timezone.now()) as clock:
        # A text of its own per message: one provider call each, so the errors fall on different messages.
        for i in range(100):
            message_send(
                organization=funded_org_a, recipients=[f"0917555{i:04d}"], body=f"Your code is {i}", channel="api"
            )
        for _ in range(8):  # "for a while": about an hour and a half of 30 % errors
            dispatch_pass(clock)
        retried = DispatchAttempt.objects.filter(status=AttemptStatus.RETRYABLE_ERROR).count()
        assert retried > 100  # the errors did fall on the messages, several times each

        provider_simulator.configure(error_rate=0.0)  # the providers recovered
        for _ in range(4):
            dispatch_pass(clock)

    statuses = Counter(Message.objects.unscoped().filter(organization=funded_org_a).values_list("status", flat=True))
    assert sum(statuses.values()) == 100 and set(statuses) <= DONE, statuses
    sent = Counter(m["recipient"] for m in provider_simulator.sent)
    assert len(sent) == 100 and set(sent.values()) == {1}  # none lost, none twice
    accepted = list(DispatchAttempt.objects.filter(status=AttemptStatus.ACCEPTED).values_list("message_id", flat=True))
    assert len(accepted) == len(set(accepted)) == 100
    assert len(charges(funded_org_a)) == 100 and refunds(funded_org_a) == []  # charged once each
    # Transient errors never keep a provider away from a message for good.
    skips = DispatchAttempt.objects.values_list("skipped", flat=True)
    assert not any(skip["reason"] == SkipReason.FAILED_FOR_MESSAGE for skipped in skips for skip in skipped)


def test_backoff_waits_and_the_retry_goes_back_to_the_primary_once_it_is_healthy(
    provider_simulator, real_backoff, funded_org_a
):
    primary, fallback = make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="http500")
    with freeze_time(timezone.now()) as clock:
        [message] = message_send(organization=funded_org_a, recipients=["09175550001"], body="Hi", channel="api")
        dispatch_queued_messages()
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED and message.attempts == 1
        # Backed off with jitter: between half and all of the first delay (10 s).
        wait = (message.next_attempt_at - timezone.now()).total_seconds()
        assert 5 <= wait <= 10
        clock.tick(timedelta(seconds=2))
        assert dispatch_queued_messages().claimed == 0  # not due yet

        provider_simulator.configure("iprog", error_mode="")
        for _ in range(5):  # fails a few times more on the primary before it recovers: never excluded for it
            clock.tick(timedelta(minutes=11))
            provider_simulator.configure("iprog", error_mode="http500")
            dispatch_queued_messages()
        provider_simulator.configure("iprog", error_mode="")
        clock.tick(timedelta(minutes=11))
        dispatch_queued_messages()

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_id == primary.pk
    assert DispatchAttempt.objects.filter(message=message, provider=primary).count() > 3
    assert [m["api"] for m in provider_simulator.sent] == ["iprog"]


def test_a_final_answer_keeps_that_provider_away_from_the_message(
    provider_simulator, real_backoff, funded_org_a, monkeypatch
):
    """An answer that says retrying on this route cannot help (here: a bulk answer that cannot be matched to the
    numbers) is final for the route and the message: the next provider takes it."""
    primary, fallback = make_chain(provider_simulator)
    ambiguous = ProviderError("IPROG SMS bulk answer had 1 results for 2 numbers", code="provider_ambiguous_response")
    real_send_bulk = IprogAdapter.send_bulk
    monkeypatch.setattr(IprogAdapter, "send_bulk", lambda self, *, items: [ambiguous] * len(items))
    with freeze_time(timezone.now()) as clock:
        message_send(organization=funded_org_a, recipients=["09175550001", "09175550002"], body="Hi", channel="api")
        dispatch_queued_messages()
        monkeypatch.setattr(IprogAdapter, "send_bulk", real_send_bulk)
        clock.tick(timedelta(minutes=11))
        dispatch_queued_messages()

    assert set(Message.objects.unscoped().values_list("status", "provider_id")) == {(MessageStatus.SENT, fallback.pk)}
    assert DispatchAttempt.objects.filter(provider=primary, status=AttemptStatus.FAILED).count() == 2
    later = DispatchAttempt.objects.filter(provider=fallback, status=AttemptStatus.ACCEPTED)
    assert {skip["reason"] for attempt in later for skip in attempt.skipped} == {SkipReason.FAILED_FOR_MESSAGE}
    assert [m["api"] for m in provider_simulator.sent] == ["semaphore", "semaphore"]
    assert len(charges(funded_org_a)) == 2 and refunds(funded_org_a) == []


def test_while_the_primary_is_unhealthy_its_retries_take_the_next_provider(
    provider_simulator, real_backoff, funded_org_a
):
    real_backoff.SMS_CIRCUIT_FAILURE_THRESHOLD = 1
    primary, fallback = make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="http500")
    with freeze_time(timezone.now()) as clock:
        [message] = message_send(organization=funded_org_a, recipients=["09175550001"], body="Hi", channel="api")
        dispatch_queued_messages()  # fails on the primary, whose circuit opens (cool-down 120 s)
        clock.tick(timedelta(seconds=11))  # the backoff is over, the cool-down is not
        dispatch_queued_messages()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_id == fallback.pk
    retry = DispatchAttempt.objects.get(message=message, provider=fallback)
    assert [skip["reason"] for skip in retry.skipped] == [SkipReason.CIRCUIT_OPEN]
