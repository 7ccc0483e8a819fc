"""Volume: 1,000 messages go out in a handful of bulk provider calls and a bounded number of queries."""

from django.db import connection

from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import Message, MessageStatus
from messaging.services.sending import message_send
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain


def test_thousand_messages_dispatch_in_bounded_queries(
    provider_simulator, fast_retries, funded_org_a, django_assert_max_num_queries
):
    make_chain(provider_simulator, primary_quota=600)
    message_send(
        organization=funded_org_a,
        recipients=[f"0917{i:07d}" for i in range(1000)],
        body="Volume",
        channel="api",
    )
    # PostgreSQL: a few statements per round; SQLite splits bulk statements by its 999-variable limit.
    limit = 80 if connection.vendor == "postgresql" else 250
    with django_assert_max_num_queries(limit):
        summary = dispatch_queued_messages()
    assert summary.by_provider == {"IPROGSMS": 600, "iprogtech fallback": 400}
    assert Message.objects.unscoped().filter(status=MessageStatus.SENT).count() == 1000
    ids = list(Message.objects.unscoped().values_list("provider_message_id", flat=True))
    assert "" not in ids and len(set(ids)) == 1000
    assert provider_simulator.stats()["iprog"]["accepted"] == 600
