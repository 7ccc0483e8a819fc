"""IPROG cannot be asked what it accepted: a worker killed while an IPROG call is on the wire leaves an attempt
whose outcome nobody knows. The reconcile job marks it for staff (never resent on its own), and staff settle it in
admin: "mark sent" (the provider got it) or "give up and refund" (refunded once).

The kill happens mid-call: the simulator holds its answer (latency, or a hang that never accepts), and the worker
dies while it waits. Here the worker is this test's own thread and the kill a signal whose handler raises a
BaseException in it (nothing the worker catches: like SIGKILL, every later write is skipped); the PostgreSQL
variant (test_engine_iprog_crash_worker.py) SIGKILLs a real `manage.py task_worker` process.
"""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from messaging.dispatch.reconcile import dispatch_reconcile_stale
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.sending import message_send
from tests.conftest import make_user
from tests.messaging.conftest import wait_until
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, refunds

CHANGELIST = "/admin/messaging/dispatchattempt/"


class WorkerKilled(BaseException):
    """Stands for SIGKILL: the worker catches `Exception` around provider calls, never this."""


def dispatch_killed_mid_call(simulator, *, api: str = "iprog") -> None:
    """Run a dispatch round and kill it once the provider has the request and the worker waits for the answer."""
    requests_before = simulator.stats()[api].get("requests", 0)

    def on_alarm(signum, frame):
        if simulator.stats()[api].get("requests", 0) > requests_before:
            raise WorkerKilled
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # not on the wire yet: look again shortly

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(WorkerKilled):
            dispatch_queued_messages()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def staff_client(client, db):
    staff = make_user("ops@portal.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def reconcile_after_timeout(settings):
    later = timezone.now() + timedelta(seconds=settings.SMS_IN_FLIGHT_TIMEOUT_SECONDS + 1)
    return dispatch_reconcile_stale(now=later)


def staff_decide(client, attempt: DispatchAttempt, action: str):
    """What staff do: open the list filtered on unknown outcomes, tick the attempt, run the action."""
    listing = client.get(CHANGELIST, {"status__exact": AttemptStatus.UNKNOWN})
    assert listing.status_code == 200
    assert f'value="{attempt.pk}"' in listing.content.decode()  # the attempt is listed with its checkbox
    response = client.post(
        f"{CHANGELIST}?status__exact={AttemptStatus.UNKNOWN}",
        {"action": action, "_selected_action": [attempt.pk], "index": 0},
    )
    assert response.status_code == 302, response.content[:500]
    return response


@pytest.mark.parametrize(
    ("provider_behaviour", "action", "expected_status", "at_provider"),
    [
        # The provider took it after all (its answer was lost with the worker): staff see it there, mark it sent.
        ({"latency_ms": 1500}, "resolve_mark_sent", MessageStatus.SENT, 1),
        # The provider hung and never took it: staff give up; the customer gets the money back once.
        ({"error_mode": "timeout", "hang_seconds": 1.5}, "resolve_fail", MessageStatus.FAILED, 0),
    ],
    ids=["provider-got-it-mark-sent", "provider-never-got-it-fail-and-refund"],
)
def test_iprog_call_killed_mid_call_is_settled_by_staff_in_admin_and_never_resent(
    provider_simulator,
    fast_retries,
    funded_org_a,
    staff_client,
    mailoutbox,
    provider_behaviour,
    action,
    expected_status,
    at_provider,
):
    primary, fallback = make_chain(provider_simulator, lookup=None)  # the real IPROG adapter: cannot be asked
    [message] = message_send(
        organization=funded_org_a, recipients=["09175550001"], body="Your order shipped", channel="api"
    )
    provider_simulator.configure("iprog", **provider_behaviour)

    dispatch_killed_mid_call(provider_simulator)

    [attempt] = DispatchAttempt.objects.filter(message=message)
    assert (attempt.status, attempt.provider_id) == (AttemptStatus.IN_FLIGHT, primary.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING
    # The provider finishes its side after the worker is gone (accepts, or gives up on its hang).
    wait_until(lambda: provider_simulator.stats()["iprog"].get("forced_timeout") or provider_simulator.sent, 5)
    if at_provider == 0:
        wait_until(lambda: provider_simulator.stats()["iprog"].get("forced_timeout"), 5)
    provider_simulator.configure("iprog", latency_ms=0, error_mode="")

    # The worker restarts: the message is in flight, so it is not claimed again.
    assert dispatch_queued_messages().claimed == 0
    # Too early for the reconcile job: a slow call may still be running.
    assert dispatch_reconcile_stale().checked == 0

    summary = reconcile_after_timeout(fast_retries)
    assert (summary.checked, summary.unknown, summary.requeued, summary.accepted) == (1, 1, 0, 0)
    attempt.refresh_from_db()
    message.refresh_from_db()
    assert attempt.status == AttemptStatus.UNKNOWN
    assert (message.status, message.error_code) == (MessageStatus.SENDING, "dispatch_outcome_unknown")
    assert "need a send decision" in mailoutbox[-1].subject
    # Running the reconcile job and the dispatcher again changes nothing: no blind resend.
    assert reconcile_after_timeout(fast_retries).checked == 0
    assert dispatch_queued_messages().claimed == 0
    assert len(provider_simulator.sent) == at_provider

    staff_decide(staff_client, attempt, action)

    attempt.refresh_from_db()
    message.refresh_from_db()
    assert message.status == expected_status
    assert attempt.status == (AttemptStatus.ACCEPTED if action == "resolve_mark_sent" else AttemptStatus.ABANDONED)
    resolved = AuditLog.objects.unscoped().filter(organization=funded_org_a, event_type="dispatch.attempt_resolved")
    assert list(resolved.values_list("actor", flat=True)) == [staff_client.staff.pk]
    assert len(charges(funded_org_a)) == 1
    assert len(refunds(funded_org_a)) == (1 if expected_status == MessageStatus.FAILED else 0)
    if expected_status == MessageStatus.SENT:
        assert message.provider_id == primary.pk and message.sender_name == "IPROGSMS"

    # Deciding twice (a second click, a second member of staff) changes nothing and refunds nothing more.
    staff_client.post(CHANGELIST, {"action": action, "_selected_action": [attempt.pk], "index": 0})
    assert len(refunds(funded_org_a)) == (1 if expected_status == MessageStatus.FAILED else 0)
    assert resolved.count() == 1
    # And nothing is sent afterwards either.
    dispatch_queued_messages()
    assert len(provider_simulator.sent) == at_provider
    assert Message.objects.unscoped().get(pk=message.pk).status == expected_status
