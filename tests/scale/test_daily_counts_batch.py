"""The daily counts of a batch moved in one pass (`count_statuses_moved`, used by the dispatcher's claim and
record) are those of the same moves counted one message at a time (`count_status_moved`)."""

from collections import Counter

from django.db import transaction

from messaging.models import Message, MessageStatus
from messaging.services import daily_counts
from messaging.services.status import status_set, statuses_set
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, numbers
from tests.scale.test_daily_counts import counted, send, truth


def _batch(ids, primary, fallback):
    """The messages afresh: queued, sending, and sending through either route; and one new, unsaved."""
    by_id = {m.pk: m for m in Message.objects.unscoped().filter(pk__in=ids)}
    messages = [by_id[pk] for pk in ids]
    messages[1].status = messages[2].status = messages[3].status = MessageStatus.SENDING
    messages[2].provider = primary
    messages[3].provider = fallback
    messages[4].provider = fallback
    unsaved = Message(organization=messages[0].organization, created_at=messages[0].created_at)
    return [*messages, unsaved]


def _moved(messages, status, *, batch: bool) -> tuple[Counter, Counter]:
    """The counts of both organizations after the moves, rolled back afterwards."""
    with transaction.atomic():
        savepoint = transaction.savepoint()
        with daily_counts.counts_collected():
            if batch:
                statuses_set(messages, status, now=messages[0].created_at)
            else:
                for message in messages:
                    status_set(message, status, now=messages[0].created_at)
        result = counted(messages[0].organization), counted(messages[-2].organization)
        transaction.savepoint_rollback(savepoint)
    return result


def test_a_batch_counts_as_its_messages_one_by_one(provider_simulator, fast_retries, funded_org_a, funded_org_b):
    primary, fallback = make_chain(provider_simulator)
    ids = [m.pk for m in send(funded_org_a, numbers(6)) + send(funded_org_b, numbers(2, start=20))]
    before = counted(funded_org_a), counted(funded_org_b)
    assert before == (truth(funded_org_a), truth(funded_org_b))
    for status in (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.QUEUED):
        one_by_one = _moved(_batch(ids, primary, fallback), status, batch=False)
        at_once = _moved(_batch(ids, primary, fallback), status, batch=True)
        assert at_once == one_by_one
        assert at_once != before or status == MessageStatus.QUEUED
        assert sum(n for n, _ in at_once[0].values()) == 6  # a move neither adds a message nor loses one
