"""Scheduled sending and cancel; OTP codes: hashed, expiring, attempt-limited."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.services import organization_close, organization_reactivate, organization_suspend
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import Message, MessageStatus, OtpChallenge
from messaging.services.otp import otp_delivery_bodies_purge, otp_send, otp_verify
from messaging.services.sending import message_cancel, message_send
from portal.errors import ApplicationError, NotFound
from privacy.data.models import SuppressionSource
from privacy.data.objections import suppression_add
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, refunds


def test_scheduled_message_waits_for_send_at(
    chain, funded_org_a, provider_simulator, django_capture_on_commit_callbacks
):
    send_at = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        [message] = message_send(
            organization=funded_org_a,
            recipients=["09171234567"],
            body="Later",
            send_at=send_at,
            channel="api",
        )
    assert len(charges(funded_org_a)) == 1  # charged when accepted
    dispatch_queued_messages()
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and provider_simulator.sent == []
    dispatch_queued_messages(now=send_at + timedelta(seconds=1))
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(provider_simulator.sent) == 1


def test_cancel_before_sending_refunds_once_and_never_sends(chain, funded_org_a, funded_org_b, provider_simulator):
    send_at = timezone.now() + timedelta(hours=1)
    [message] = message_send(
        organization=funded_org_a, recipients=["09171234567"], body="Later", send_at=send_at, channel="api"
    )
    with pytest.raises(NotFound):
        message_cancel(organization=funded_org_b, message_id=message.pk)
    cancelled = message_cancel(organization=funded_org_a, message_id=message.pk)
    assert cancelled.status == MessageStatus.CANCELLED and cancelled.cancelled_at is not None
    with pytest.raises(ApplicationError) as error:
        message_cancel(organization=funded_org_a, message_id=message.pk)
    assert error.value.code == "not_cancellable"
    dispatch_queued_messages(now=send_at + timedelta(minutes=1))
    assert provider_simulator.sent == []
    assert [e.message_id for e in refunds(funded_org_a)] == [message.pk]


def test_sent_message_cannot_be_cancelled(chain, funded_org_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [message] = message_send(organization=funded_org_a, recipients=["09171234567"], body="Now", channel="api")
    with pytest.raises(ApplicationError):
        message_cancel(organization=funded_org_a, message_id=message.pk)
    assert refunds(funded_org_a) == []


def test_send_at_validation(chain, funded_org_a):
    with pytest.raises(ApplicationError) as error:
        message_send(
            organization=funded_org_a,
            recipients=["09171234567"],
            body="x",
            send_at=timezone.now() + timedelta(days=120),
            channel="api",
        )
    assert error.value.code == "invalid_send_at"
    [past] = message_send(
        organization=funded_org_a,
        recipients=["09171234567"],
        body="x",
        send_at=timezone.now() - timedelta(minutes=5),
        channel="api",
    )
    assert past.send_at is None  # already due: sent now


def sent_code(simulator) -> str:
    return simulator.sent[-1]["message"].split()[-1]


def test_otp_stores_only_a_hash_and_verifies_once(
    chain, funded_org_a, funded_org_b, provider_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        challenge = otp_send(organization=funded_org_a, phone_number="0917 123 4567", template="Code: :otp")
    code = sent_code(provider_simulator)
    assert len(code) == 6
    stored = OtpChallenge.objects.unscoped().get(pk=challenge.pk)
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    message = Message.objects.unscoped().get(pk=challenge.message_id)
    assert message.channel == "otp" and message.body == "Code: ******"  # what logs, exports and webhooks see
    with connection.cursor() as cursor:  # the text for the provider is encrypted at rest
        cursor.execute("SELECT body, delivery_body FROM messaging_message WHERE id = %s", [message.pk])
        assert not any(code in column for column in cursor.fetchone())
    assert message.delivery_body == f"Code: {code}"
    assert otp_delivery_bodies_purge() == 0  # the code is still live
    later = timezone.now() + timedelta(seconds=settings.SMS_OTP_TTL_SECONDS + 1)
    assert otp_delivery_bodies_purge(now=later) == 1
    message.refresh_from_db()
    assert message.delivery_body == "" and message.body == "Code: ******"
    assert otp_verify(organization=funded_org_b, phone_number="09171234567", code=code) is False
    assert (
        otp_verify(
            organization=funded_org_a,
            phone_number="09171234567",
            code="000000" if code != "000000" else "111111",
        )
        is False
    )
    assert otp_verify(organization=funded_org_a, phone_number="+639171234567", code=code) is True
    assert otp_verify(organization=funded_org_a, phone_number="09171234567", code=code) is False  # used
    stored.refresh_from_db()
    assert stored.attempts == 2


def test_otp_attempt_limit_and_expiry(
    chain, funded_org_a, provider_simulator, django_capture_on_commit_callbacks, settings
):
    settings.SMS_OTP_MAX_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=True):
        otp_send(organization=funded_org_a, phone_number="09171234567", template=":otp is your code")
    code = provider_simulator.sent[-1]["message"].split()[0]
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(3):
        assert otp_verify(organization=funded_org_a, phone_number="09171234567", code=wrong) is False
    assert otp_verify(organization=funded_org_a, phone_number="09171234567", code=code) is False  # locked

    with django_capture_on_commit_callbacks(execute=True):
        challenge = otp_send(organization=funded_org_a, phone_number="09171234567", template=":otp is your code")
    code = provider_simulator.sent[-1]["message"].split()[0]
    OtpChallenge.objects.unscoped().filter(pk=challenge.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert otp_verify(organization=funded_org_a, phone_number="09171234567", code=code) is False


def test_new_otp_replaces_the_previous_code(
    chain, funded_org_a, provider_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        otp_send(organization=funded_org_a, phone_number="09171234567", template="Code :otp")
    first = sent_code(provider_simulator)
    with django_capture_on_commit_callbacks(execute=True):
        otp_send(organization=funded_org_a, phone_number="09171234567", template="Code :otp")
    second = sent_code(provider_simulator)
    if first != second:
        assert otp_verify(organization=funded_org_a, phone_number="09171234567", code=first) is False
    assert otp_verify(organization=funded_org_a, phone_number="09171234567", code=second) is True


def test_otp_template_and_rate_limit(chain, funded_org_a):
    with pytest.raises(ApplicationError) as error:
        otp_send(organization=funded_org_a, phone_number="09171234567", template="no placeholder")
    assert error.value.code == "invalid_otp_template"
    for _ in range(5):
        otp_send(organization=funded_org_a, phone_number="09171234567", template=":otp")
    with pytest.raises(ApplicationError) as error:
        otp_send(organization=funded_org_a, phone_number="09171234567", template=":otp")
    assert error.value.status == 429


def test_a_recipient_who_opts_out_after_acceptance_is_not_sent_and_refunded(chain, funded_org_a, provider_simulator):
    send_at = timezone.now() + timedelta(hours=1)
    [message] = message_send(
        organization=funded_org_a, recipients=["09171234567"], body="Sale tomorrow", send_at=send_at, channel="api"
    )
    suppression_add(phone_number="+639171234567", source=SuppressionSource.REQUEST)
    dispatch_queued_messages(now=send_at + timedelta(seconds=1))
    message.refresh_from_db()
    assert message.status == MessageStatus.REJECTED and message.error_code == "recipient_opted_out"
    assert message.rejected_at is not None
    assert provider_simulator.sent == []
    assert [e.message_id for e in refunds(funded_org_a)] == [message.pk]
    dispatch_queued_messages(now=send_at + timedelta(minutes=5))
    assert len(refunds(funded_org_a)) == 1  # refunded once


def test_a_suspended_organizations_queue_waits_until_it_is_reactivated(chain, funded_org_a, provider_simulator):
    send_at = timezone.now() + timedelta(minutes=10)
    [message] = message_send(
        organization=funded_org_a, recipients=["09171234567"], body="Later", send_at=send_at, channel="api"
    )
    organization_suspend(organization=funded_org_a, actor=None, reason="Unpaid invoice")
    dispatch_queued_messages(now=send_at + timedelta(seconds=1))
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and provider_simulator.sent == []
    organization_reactivate(organization=funded_org_a, actor=None)
    dispatch_queued_messages(now=send_at + timedelta(seconds=2))
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and len(provider_simulator.sent) == 1


def test_closing_an_organization_cancels_and_refunds_its_queue(chain, funded_org_a, funded_org_b, provider_simulator):
    send_at = timezone.now() + timedelta(hours=1)
    waiting = message_send(
        organization=funded_org_a,
        recipients=["09171234567", "09181234567"],
        body="Later",
        send_at=send_at,
        channel="api",
    )
    [other] = message_send(
        organization=funded_org_b, recipients=["09171234567"], body="Theirs", send_at=send_at, channel="api"
    )
    organization_close(organization=funded_org_a, actor_membership=None, reason="Owner left")
    assert {m.status for m in Message.objects.unscoped().filter(organization=funded_org_a)} == {MessageStatus.CANCELLED}
    assert sorted(e.message_id for e in refunds(funded_org_a)) == sorted(m.pk for m in waiting)
    other.refresh_from_db()
    assert other.status == MessageStatus.QUEUED and refunds(funded_org_b) == []
    dispatch_queued_messages(now=send_at + timedelta(seconds=1))
    assert [s["message"] for s in provider_simulator.sent] == ["Theirs"]
