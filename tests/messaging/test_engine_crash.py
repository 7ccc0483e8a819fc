"""Worker stopped mid-batch and restarted: every message reaches the provider exactly once.

The kill is simulated by raising a BaseException (which the worker does not catch, like SIGKILL it skips every
later write) at the two dangerous points: after the in-flight commit but before the provider call, and after the
provider call but before the outcome is written. The restart is: reconcile (after the in-flight timeout), then
the normal dispatch.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.dispatch import worker
from messaging.dispatch.batch import DispatchSummary
from messaging.dispatch.claim import messages_claim
from messaging.dispatch.outcome import outcomes_record
from messaging.dispatch.provider_call import group_send
from messaging.dispatch.reconcile import AttemptDecision, dispatch_attempt_resolve, dispatch_reconcile_stale
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.sending import message_send
from portal.errors import ApplicationError
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, refunds


class WorkerKilled(BaseException):
    pass


def kill_on_call(monkeypatch, target: str, *, call_number: int):
    """Make the worker's step `target` die on its `call_number`-th call (the earlier calls run normally)."""
    real = getattr(worker, target)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call_number:
            # group_send: in-flight attempts committed, provider never called.
            # outcomes_record: the provider call happened, its outcome is never written.
            raise WorkerKilled
        return real(*args, **kwargs)

    monkeypatch.setattr(worker, target, wrapper)


def queue(org, count):
    # One distinct body per recipient lets the test double of the provider look hand-overs up.
    for i in range(count):
        message_send(organization=org, recipients=[f"0917555{i:04d}"], body=f"Crash test {i}", channel="api")


def restart(settings):
    later = timezone.now() + timedelta(seconds=settings.SMS_IN_FLIGHT_TIMEOUT_SECONDS + 1)
    summary = dispatch_reconcile_stale(now=later)
    dispatch_queued_messages()
    return summary


def assert_each_sent_once(simulator, org):
    recipients = Counter(m["recipient"] for m in simulator.sent)
    expected = set(Message.objects.unscoped().filter(organization=org).values_list("recipient", flat=True))
    assert set(recipients) == expected
    assert set(recipients.values()) == {1}
    assert set(Message.objects.unscoped().filter(organization=org).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }
    assert not DispatchAttempt.objects.filter(status=AttemptStatus.IN_FLIGHT).exists()
    assert len(charges(org)) == Message.objects.unscoped().filter(organization=org).count()
    assert refunds(org) == []


@pytest.mark.parametrize("target", ["group_send", "outcomes_record"])
def test_provider_that_can_be_asked_every_message_sent_exactly_once(
    provider_simulator, fast_retries, funded_org_a, monkeypatch, target
):
    # Two provider groups in one batch (primary quota 4): the worker dies on the second group.
    make_chain(provider_simulator, primary_quota=4, lookup=True)
    queue(funded_org_a, 8)
    kill_on_call(monkeypatch, target, call_number=2)
    with pytest.raises(WorkerKilled):
        dispatch_queued_messages()
    assert DispatchAttempt.objects.filter(status=AttemptStatus.IN_FLIGHT).count() == 4
    assert len(provider_simulator.sent) == (4 if target == "group_send" else 8)
    monkeypatch.undo()

    # Restarted too early: the in-flight attempts are left alone and nothing is sent twice.
    assert dispatch_reconcile_stale().checked == 0
    dispatch_queued_messages()
    assert len(provider_simulator.sent) == (4 if target == "group_send" else 8)

    summary = restart(fast_retries)
    if target == "group_send":
        assert (summary.requeued, summary.accepted) == (4, 0)
        assert DispatchAttempt.objects.filter(status=AttemptStatus.ABANDONED).count() == 4
    else:
        assert (summary.requeued, summary.accepted) == (0, 4)
    assert_each_sent_once(provider_simulator, funded_org_a)


@pytest.mark.parametrize("target", ["group_send", "outcomes_record"])
def test_provider_that_cannot_be_asked_is_never_resent_blindly(
    provider_simulator, fast_retries, funded_org_a, monkeypatch, target, mailoutbox
):
    make_chain(provider_simulator, primary_quota=4, lookup=False)
    queue(funded_org_a, 8)
    kill_on_call(monkeypatch, target, call_number=2)
    with pytest.raises(WorkerKilled):
        dispatch_queued_messages()
    monkeypatch.undo()
    summary = restart(fast_retries)
    assert summary.unknown == 4
    unknown = list(DispatchAttempt.objects.filter(status=AttemptStatus.UNKNOWN))
    assert len(unknown) == 4
    assert (
        Message.objects.unscoped().filter(status=MessageStatus.SENDING, error_code="dispatch_outcome_unknown").count()
        == 4
    )
    assert len(provider_simulator.sent) == (4 if target == "group_send" else 8)  # nothing resent on its own
    assert "need a send decision" in mailoutbox[0].subject

    # Staff look at the provider's side (here: the simulator) and decide.
    decision = AttemptDecision.RESEND if target == "group_send" else AttemptDecision.MARK_SENT
    for attempt in unknown:
        dispatch_attempt_resolve(attempt_id=attempt.pk, decision=decision)
    dispatch_queued_messages()
    assert_each_sent_once(provider_simulator, funded_org_a)


def test_unknown_outcome_given_up_is_refunded_once(provider_simulator, fast_retries, funded_org_a, monkeypatch):
    make_chain(provider_simulator, lookup=False)
    queue(funded_org_a, 1)
    kill_on_call(monkeypatch, "group_send", call_number=1)
    with pytest.raises(WorkerKilled):
        dispatch_queued_messages()
    monkeypatch.undo()
    restart(fast_retries)
    [attempt] = DispatchAttempt.objects.filter(status=AttemptStatus.UNKNOWN)
    dispatch_attempt_resolve(attempt_id=attempt.pk, decision=AttemptDecision.FAIL)
    message = Message.objects.unscoped().get()
    assert message.status == MessageStatus.FAILED
    assert len(refunds(funded_org_a)) == 1
    with pytest.raises(ApplicationError):
        dispatch_attempt_resolve(attempt_id=attempt.pk, decision=AttemptDecision.FAIL)
    assert len(refunds(funded_org_a)) == 1


def test_slow_call_finishing_after_reconcile_still_records_the_answer(provider_simulator, fast_retries, funded_org_a):
    make_chain(provider_simulator, lookup=False)
    queue(funded_org_a, 2)
    groups = messages_claim(now=timezone.now(), limit=10)
    # The reconcile job runs while the worker is still waiting for the provider.
    later = timezone.now() + timedelta(seconds=fast_retries.SMS_IN_FLIGHT_TIMEOUT_SECONDS + 1)
    assert dispatch_reconcile_stale(now=later).unknown == 2
    summary = DispatchSummary()
    for group in groups:
        outcomes_record(group, group_send(group), summary)
    assert summary.accepted == 2
    assert set(Message.objects.unscoped().values_list("status", "error_code")) == {(MessageStatus.SENT, "")}
    assert set(DispatchAttempt.objects.values_list("status", flat=True)) == {AttemptStatus.ACCEPTED}
    assert len(provider_simulator.sent) == 2


@pytest.mark.parametrize("target", ["group_send", "outcomes_record"])
def test_the_real_semaphore_adapter_finds_its_hand_overs_even_with_repeated_texts(
    provider_simulator, fast_retries, funded_org_a, monkeypatch, target
):
    # No primary quota: everything goes to the fallback, the real Semaphore adapter, which lists what it accepted.
    make_chain(provider_simulator, primary_quota=0, lookup=None)
    # The same text to the same number, sent once before the crash: the listed message that is already recorded
    # must not be mistaken for the lost hand-over.
    message_send(organization=funded_org_a, recipients=["09175550000"], body="Your parcel is out", channel="api")
    dispatch_queued_messages()
    message_send(
        organization=funded_org_a,
        recipients=["09175550000", "09175550001"],
        body="Your parcel is out",
        channel="api",
    )
    kill_on_call(monkeypatch, target, call_number=1)
    with pytest.raises(WorkerKilled):
        dispatch_queued_messages()
    monkeypatch.undo()
    summary = restart(fast_retries)
    if target == "group_send":
        assert (summary.requeued, summary.accepted, summary.unknown) == (2, 0, 0)
    else:
        assert (summary.requeued, summary.accepted, summary.unknown) == (0, 2, 0)
    assert_each_text_sent_once(provider_simulator, funded_org_a)


def assert_each_text_sent_once(simulator, org):
    sent = Counter((m["recipient"], m["message"]) for m in simulator.sent)
    assert sent == Counter({("+639175550000", "Your parcel is out"): 2, ("+639175550001", "Your parcel is out"): 1})
    assert set(Message.objects.unscoped().filter(organization=org).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }
    ids = list(Message.objects.unscoped().filter(organization=org).values_list("provider_message_id", flat=True))
    assert len(set(ids)) == 3 and all(ids)
    assert len(charges(org)) == 3 and refunds(org) == []
