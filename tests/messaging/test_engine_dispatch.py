"""The whole sending path against the provider simulator over real HTTP: quota fallback, provider limit,
errors and timeouts, rejections, deadline, opted-out recipients."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import AttemptStatus, CircuitState, DispatchAttempt, Message, MessageStatus, Notice
from messaging.services.notices import notice_refresh_fallback
from messaging.services.sending import message_send
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError
from portal.timezone import next_month_start
from privacy.data.objections import suppression_add
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, numbers, refunds


def send(org, recipients, body="Hello from the portal", **kwargs):
    return message_send(organization=org, recipients=recipients, body=body, channel="api", **kwargs)


def test_primary_quota_50_then_fallback_100_sent_once_each(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator, primary_quota=50)
    recipients = numbers(100)
    with django_capture_on_commit_callbacks(execute=True):
        messages = send(funded_org_a, recipients)
    assert len(messages) == 100

    rows = list(Message.objects.unscoped().filter(organization=funded_org_a).select_related("provider"))
    by_route = Counter((m.provider.name, m.sender_name, m.status) for m in rows)
    assert by_route == {
        ("IPROGSMS", "IPROGSMS", MessageStatus.SENT): 50,
        ("iprogtech fallback", "iprogtech", MessageStatus.SENT): 50,
    }
    # 0 lost, none twice: the simulator got each recipient exactly once.
    sent = provider_simulator.sent
    assert len(sent) == 100
    assert sorted(m["recipient"] for m in sent) == sorted(m.recipient for m in rows)
    assert Counter(m["api"] for m in sent) == {"iprog": 50, "semaphore": 50}
    assert {m["sender_name"] for m in sent if m["api"] == "semaphore"} == {"iprogtech"}
    # Charged once each, nothing refunded.
    assert sorted(e.message_id for e in charges(funded_org_a)) == sorted(m.pk for m in rows)
    assert refunds(funded_org_a) == []
    # The routing decision is stored with the reason the primary was skipped.
    fallback_attempt = DispatchAttempt.objects.filter(provider=fallback, status=AttemptStatus.ACCEPTED).first()
    assert fallback_attempt.sender_name == "iprogtech"
    assert fallback_attempt.skipped[0]["name"] == "IPROGSMS"
    assert fallback_attempt.skipped[0]["reason"] == "monthly_quota_used"
    # The notice is up, in the operator's words.
    notice = Notice.objects.get(withdrawn_at__isnull=True)
    assert notice.title == "SMS Fallback Route"
    assert "IPROGSMS has reached its monthly limit" in notice.body
    assert '"iprogtech"' in notice.body
    assert "all networks" in notice.body


def test_provider_limit_answer_marks_route_exhausted_until_next_month(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator)  # no portal quota: only the provider knows its limit
    provider_simulator.configure("iprog", quota=0)
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(30))
    assert Message.objects.unscoped().filter(provider=fallback, status=MessageStatus.SENT).count() == 30
    primary.refresh_from_db()
    assert primary.exhausted_until == next_month_start(timezone.now())
    assert DispatchAttempt.objects.filter(provider=primary, status=AttemptStatus.ROUTE_EXHAUSTED).count() == 30
    assert len(provider_simulator.sent) == 30
    assert len(charges(funded_org_a)) == 30 and refunds(funded_org_a) == []
    assert Notice.objects.filter(withdrawn_at__isnull=True, kind="fallback_route").count() == 1

    # Later sends skip the primary without asking it.
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(2, start=100))
    assert DispatchAttempt.objects.filter(provider=primary).count() == 30

    # New month: the notice is withdrawn by the periodic refresh, and the primary takes traffic again.
    provider_simulator.configure("iprog", quota=None)
    next_month = primary.exhausted_until + timedelta(minutes=1)
    assert notice_refresh_fallback(now=next_month) is True
    assert not Notice.objects.filter(withdrawn_at__isnull=True).exists()


def test_primary_answering_500_retries_then_falls_back_without_double_charge(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="http500")
    with django_capture_on_commit_callbacks(execute=True):
        messages = send(funded_org_a, numbers(5))
    rows = list(Message.objects.unscoped().filter(organization=funded_org_a))
    assert {m.status for m in rows} == {MessageStatus.SENT}
    assert {m.provider_id for m in rows} == {fallback.pk}
    # Each message was tried on the primary (retried) before it moved on.
    for message in messages:
        failures = DispatchAttempt.objects.filter(
            message=message, provider=primary, status=AttemptStatus.RETRYABLE_ERROR
        ).count()
        assert failures >= 1
    primary.refresh_from_db()
    assert primary.circuit_state == CircuitState.OPEN
    assert len(provider_simulator.sent) == 5
    assert len(charges(funded_org_a)) == 5 and refunds(funded_org_a) == []
    notice = Notice.objects.get(withdrawn_at__isnull=True)
    assert "temporarily unavailable" in notice.body


def test_iprog_status_500_in_a_200_body_is_retried(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="iprog_status_500")
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(2))
    assert set(Message.objects.unscoped().values_list("status", "provider_id")) == {(MessageStatus.SENT, fallback.pk)}
    assert DispatchAttempt.objects.filter(provider=primary, status=AttemptStatus.RETRYABLE_ERROR).exists()


def test_primary_timeouts_retry_then_fallback(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator, primary_timeout=0.3)
    provider_simulator.configure("iprog", error_mode="timeout", hang_seconds=2)
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(2))
    assert set(Message.objects.unscoped().values_list("status", "provider_id")) == {(MessageStatus.SENT, fallback.pk)}
    assert len(charges(funded_org_a)) == 2 and refunds(funded_org_a) == []
    errors = set(DispatchAttempt.objects.filter(provider=primary).values_list("status", flat=True))
    assert errors == {AttemptStatus.RETRYABLE_ERROR}


def test_circuit_half_open_sends_one_probe_and_closes_on_success(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks, settings
):
    primary, fallback = make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="http500")
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(3))
    primary.refresh_from_db()
    assert primary.circuit_state == CircuitState.OPEN

    # After the cool-down the primary is healthy again: the first message is the probe, the rest follow.
    provider_simulator.configure("iprog", error_mode="")
    later = timezone.now() + timedelta(seconds=settings.SMS_CIRCUIT_COOLDOWN_SECONDS + 1)
    send(funded_org_a, numbers(4, start=50))
    summary = dispatch_queued_messages(now=later)
    primary.refresh_from_db()
    assert primary.circuit_state == CircuitState.CLOSED
    assert summary.by_provider["IPROGSMS"] == 1  # the probe
    # The others went to the fallback in the same round, and on the next round the primary takes them all.
    assert summary.by_provider.get("iprogtech fallback", 0) == 3
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(2, start=90))
    assert (
        Message.objects.unscoped()
        .filter(
            recipient_hash__in=[phone_lookup_hash("+639170000090"), phone_lookup_hash("+639170000091")],
            provider=primary,
        )
        .count()
        == 2
    )
    assert not Notice.objects.filter(withdrawn_at__isnull=True).exists()


def test_all_routes_failing_until_deadline_fails_and_refunds_once(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="http500")
    provider_simulator.configure("semaphore", error_mode="http500")
    with django_capture_on_commit_callbacks(execute=True):
        [message] = send(funded_org_a, numbers(1))
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED  # waiting for a route, not lost
    after_deadline = message.created_at + timedelta(seconds=fast_retries.SMS_SEND_DEADLINE_SECONDS + 1)
    dispatch_queued_messages(now=after_deadline)
    dispatch_queued_messages(now=after_deadline)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.failed_at is not None
    assert [e.message_id for e in refunds(funded_org_a)] == [message.pk]
    assert provider_simulator.sent == []


def test_provider_rejecting_a_number_rejects_and_refunds_only_that_message(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    with django_capture_on_commit_callbacks(execute=True):
        bad, good = send(funded_org_a, ["09001234567", "09171234567"])  # the simulator refuses 63900…
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == MessageStatus.REJECTED and bad.rejected_at is not None
    assert good.status == MessageStatus.SENT
    assert [e.message_id for e in refunds(funded_org_a)] == [bad.pk]


def test_opted_out_recipient_is_rejected_without_charge(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    suppression_add(phone_number="+639171111111", source="staff")
    with django_capture_on_commit_callbacks(execute=True):
        opted_out, other = send(funded_org_a, ["0917 111 1111", "09172222222"])
    opted_out.refresh_from_db()
    assert opted_out.status == MessageStatus.REJECTED
    assert opted_out.error_code == "recipient_opted_out"
    assert [e.message_id for e in charges(funded_org_a)] == [other.pk]
    assert [m["recipient"] for m in provider_simulator.sent] == ["+639172222222"]


def test_network_not_covered_by_primary_goes_to_fallback_without_notice(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator)
    primary.networks = ["globe", "tm"]
    primary.save()
    with django_capture_on_commit_callbacks(execute=True):
        [smart] = send(funded_org_a, ["09181234567"])  # 0918: Smart
    smart.refresh_from_db()
    assert smart.provider_id == fallback.pk
    assert smart.network == "smart"
    assert DispatchAttempt.objects.get(message=smart).skipped[0]["reason"] == "network_not_covered"
    assert not Notice.objects.exists()


def test_invalid_recipients_refuse_the_whole_request_and_charge_nothing(chain, funded_org_a):
    with pytest.raises(ApplicationError) as error:
        send(funded_org_a, ["09171234567", "12345", "0917-abc", "09181234567"])
    assert error.value.code == "invalid_recipients"
    assert [e["input"] for e in error.value.details["recipients"]] == ["12345", "0917-abc"]
    assert [e["index"] for e in error.value.details["recipients"]] == [1, 2]
    assert not Message.objects.unscoped().exists()
    assert charges(funded_org_a) == []


def test_insufficient_credits_store_nothing(chain, org_a):
    with pytest.raises(ApplicationError) as error:
        send(org_a, numbers(3))
    assert error.value.code == "insufficient_credits"
    assert not Message.objects.unscoped().exists()
