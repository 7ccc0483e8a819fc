"""The dashboard's daily counts stay exactly what counting the messages would give, through every way a message
is created or changes status: send (and opted-out recipients), dispatch with fallback, provider rejection,
cancel with refund, failure at the deadline with refund, a delivery receipt; and the dashboard reads them."""

from collections import Counter
from datetime import timedelta

from django.db import connection
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.dashboard import dashboard_context
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import Message, MessageStatus
from messaging.models_stats import MessageDailyCount
from messaging.providers.base import DeliveryReport, DeliveryState
from messaging.services.daily_counts import daily_counts_rebuild
from messaging.services.delivery import delivery_reports_apply
from messaging.services.sending import message_cancel, message_send
from messaging.ui_selectors import provider_reports_receipts
from portal.timezone import operator_tz
from privacy.data.objections import suppression_add
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, numbers, refunds


def counted(organization) -> dict:
    """{(day, status, whether the route reports receipts, network, channel, route): (messages, credits)} as kept."""
    return {
        (row.day, row.status, row.receipts, row.network, row.channel, row.route): (row.messages, row.credits)
        for row in MessageDailyCount.objects.filter(organization=organization)
        if row.messages or row.credits
    }


def truth(organization) -> dict:
    """The same, counted from the messages and their routes."""
    rows = (
        Message.objects.filter(organization=organization)
        .select_related("provider")
        .annotate(day=TruncDate("created_at", tzinfo=operator_tz()))
    )
    messages, credits = Counter(), Counter()
    for message in rows:
        key = (
            message.day,
            message.status,
            provider_reports_receipts(message.provider),
            message.network,
            message.channel,
            message.provider_id or 0,
        )
        messages[key] += 1
        credits[key] += message.price
    return {key: (n, credits[key]) for key, n in messages.items()}


def statuses(organization) -> Counter:
    by_status = Counter()
    for (_, status, *_), (n, _) in counted(organization).items():
        by_status[status] += n
    return by_status


def without_receipts(organization) -> Counter:
    by_status = Counter()
    for (_, status, receipts, *_), (n, _) in counted(organization).items():
        if not receipts:
            by_status[status] += n
    return by_status


def send(organization, recipients):
    return message_send(organization=organization, recipients=recipients, body="Counted", channel="api")


def test_send_fallback_reject_and_cancel_keep_the_counts_exact(
    provider_simulator, fast_retries, funded_org_a, funded_org_b, owner_a
):
    make_chain(provider_simulator, primary_quota=5)  # 5 by the primary, the rest by the fallback
    suppression_add(phone_number="09170000009", source="staff")
    # The dispatch task enqueued on commit is not run here: the worker is called below.
    send(funded_org_b, numbers(3, start=100))
    messages = send(funded_org_a, numbers(10) + ["09001234567"])  # the simulator refuses 63900…
    later = message_send(
        organization=funded_org_a,
        recipients=numbers(2, start=50),
        body="Later",
        channel="api",
        send_at=messages[0].created_at + timedelta(days=1),
    )
    assert statuses(funded_org_a) == {"queued": 12, "rejected": 1}  # the opted-out number, never charged
    assert counted(funded_org_a) == truth(funded_org_a)

    dispatch_queued_messages()
    assert statuses(funded_org_a) == {"sent": 9, "rejected": 2, "queued": 2}
    # The fallback is Semaphore, which reports no receipt: its messages are counted apart.
    through_fallback = Message.objects.filter(organization=funded_org_a, provider__adapter="semaphore").count()
    assert through_fallback and without_receipts(funded_org_a) == {"sent": through_fallback}
    assert counted(funded_org_a) == truth(funded_org_a)

    message_cancel(organization=funded_org_a, actor=owner_a, message_id=later[0].pk)
    assert statuses(funded_org_a) == {"sent": 9, "rejected": 2, "queued": 1, "cancelled": 1}
    assert later[0].pk in [entry.message_id for entry in refunds(funded_org_a)]
    assert counted(funded_org_a) == truth(funded_org_a)
    # The other organization's counts moved only with its own messages.
    assert statuses(funded_org_b) == {"sent": 3}
    assert counted(funded_org_b) == truth(funded_org_b)


def test_failure_at_the_deadline_moves_queued_to_failed(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    provider_simulator.configure("iprog", error_mode="http500")
    provider_simulator.configure("semaphore", error_mode="http500")
    with django_capture_on_commit_callbacks(execute=True):
        [message] = send(funded_org_a, numbers(1))
    assert statuses(funded_org_a) == {"queued": 1}  # back in the queue after the errors, counted there
    after_deadline = message.created_at + timedelta(seconds=fast_retries.SMS_SEND_DEADLINE_SECONDS + 1)
    dispatch_queued_messages(now=after_deadline)
    dispatch_queued_messages(now=after_deadline)
    assert statuses(funded_org_a) == {"failed": 1}
    assert [entry.message_id for entry in refunds(funded_org_a)] == [message.pk]
    assert counted(funded_org_a) == truth(funded_org_a)


def test_a_delivery_receipt_moves_sent_to_delivered(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, _ = make_chain(provider_simulator)
    with django_capture_on_commit_callbacks(execute=True):
        first, second = send(funded_org_a, numbers(2))
    first.refresh_from_db()
    second.refresh_from_db()
    assert statuses(funded_org_a) == {"sent": 2}
    delivery_reports_apply(
        provider=primary,
        reports=[
            DeliveryReport(provider_message_id=first.provider_message_id, state=DeliveryState.DELIVERED),
            DeliveryReport(
                provider_message_id=second.provider_message_id, state=DeliveryState.FAILED, error_code="absent"
            ),
        ],
    )
    assert statuses(funded_org_a) == {"delivered": 1, "failed": 1}
    assert counted(funded_org_a) == truth(funded_org_a)


def test_rebuild_recounts_messages_written_around_the_services(funded_org_a, funded_org_b):
    Message.objects.bulk_create(
        Message(
            organization=organization,
            recipient="+639171234567",
            network="globe",
            body="imported",
            sender_name="IPROGSMS",
            encoding="gsm7",
            segments=1,
            status=MessageStatus.DELIVERED,
            channel="api",
        )
        for organization in (funded_org_a, funded_org_a, funded_org_b)
    )
    assert counted(funded_org_a) == {}
    daily_counts_rebuild()
    assert statuses(funded_org_a) == {"delivered": 2}
    assert counted(funded_org_b) == truth(funded_org_b)
    daily_counts_rebuild(organization_id=funded_org_a.pk)  # again, one organization: same counts
    assert statuses(funded_org_a) == {"delivered": 2} and statuses(funded_org_b) == {"delivered": 1}


def test_dashboard_reads_the_counts_in_a_constant_number_of_queries(
    provider_simulator, fast_retries, funded_org_a, funded_org_b, client_owner_b, django_capture_on_commit_callbacks
):
    make_chain(provider_simulator)
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(3))
    with CaptureQueriesContext(connection) as few:
        dashboard_context(organization=funded_org_a)
    with django_capture_on_commit_callbacks(execute=True):
        send(funded_org_a, numbers(40, start=10))
    with CaptureQueriesContext(connection) as many:
        context = dashboard_context(organization=funded_org_a)
    assert len(many) == len(few)
    assert context["messaging_chart"]["total"] == 43
    panels = {panel["key"]: panel["value"] for panel in context["panels"]}
    assert panels["messages_today"] == "43"
    # The other organization's dashboard shows none of them.
    response = client_owner_b.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["messaging_chart"]["total"] == 0
