"""One-time codes overtake a bulk backlog: a code is enqueued on the `otp` queue, whose task claims codes only,
and every dispatch round claims the due codes before the oldest messages of any kind."""

from messaging.dispatch.worker import dispatch_queued_messages
from messaging.enqueue import DISPATCH_OTP, DISPATCH_QUEUED
from messaging.models import Message, MessageChannel, MessageStatus
from messaging.services.otp import otp_send
from messaging.services.sending import message_send
from messaging.tasks import dispatch_otp
from portal.queues import TaskQueue
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, numbers

BACKLOG = 5_000
CODE_NUMBER = "09998887777"
CODE_E164 = "+639998887777"


def _enqueued(callbacks) -> list[str]:
    """Dotted paths of the tasks the captured on-commit callbacks enqueue (`enqueue_on_commit` partials)."""
    return [callback.args[0] for callback in callbacks if getattr(callback, "args", None)]


def _backlog(organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for start in range(0, BACKLOG, 1_000):  # an upload sends in chunks of a request's limit
            message_send(
                organization=organization, recipients=numbers(1_000, start=start), body="Sale today only", channel="csv"
            )
    assert DISPATCH_QUEUED in _enqueued(callbacks)


def _code(organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        challenge = otp_send(organization=organization, phone_number=CODE_NUMBER, template="Your code is :otp")
    assert _enqueued(callbacks) == [DISPATCH_OTP]  # the `otp` queue, not behind the backlog on `send`
    return challenge


def test_a_code_sent_after_a_5000_message_backlog_goes_out_first(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    _backlog(funded_org_a, django_capture_on_commit_callbacks)
    challenge = _code(funded_org_a, django_capture_on_commit_callbacks)
    assert dispatch_otp.queue_name == TaskQueue.OTP

    summary = dispatch_queued_messages(channel=MessageChannel.OTP)  # what the `otp` queue's task runs

    assert summary.claimed == 1
    assert [m["recipient"] for m in provider_simulator.sent] == [CODE_E164]
    assert "Your code is" in provider_simulator.sent[0]["message"]
    challenge.message.refresh_from_db()
    assert challenge.message.status == MessageStatus.SENT
    # The whole backlog is still waiting: the code did not wait for it, nor took it along.
    assert Message.objects.filter(organization=funded_org_a, status=MessageStatus.QUEUED).count() == BACKLOG


def test_a_send_queue_round_takes_the_code_before_the_older_backlog(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    _backlog(funded_org_a, django_capture_on_commit_callbacks)
    challenge = _code(funded_org_a, django_capture_on_commit_callbacks)

    dispatch_queued_messages(batch_size=1_000, max_rounds=1)  # one round of the send queue's task

    sent = [m["recipient"] for m in provider_simulator.sent]
    assert sent[0] == CODE_E164  # first on the wire, though the backlog is older
    challenge.message.refresh_from_db()
    assert challenge.message.status == MessageStatus.SENT
    assert Message.objects.filter(organization=funded_org_a, status=MessageStatus.QUEUED).count() >= BACKLOG - 1_000
