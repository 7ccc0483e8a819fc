"""One organization's API sends stored and charged in one statement (`messaging.services.send_statement`): the
same rows as the usual transaction (messages, one charge entry each, daily counts, usage), and nothing at all
when a number is suppressed or the charge is refused, so the usual way can answer."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from billing.errors import InsufficientCredits
from billing.models import CreditAccount, LedgerEntry, PricePlan
from billing.selectors import balance_get
from messaging.contacts.services import opt_out_add
from messaging.models import Message, MessageStatus
from messaging.models_stats import MessageDailyCount
from messaging.services import sending
from messaging.services.send_statement import messages_store_charged
from messaging.services.sending import send_prepare
from portal.group_commit import ItemFailed
from tests.billing.helpers import assert_ledger_invariant, fund, funded_with_low_balance_alert
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, numbers
from tests.scale.test_daily_counts import counted, truth


def prepared(organization, recipients, body="One statement"):
    return send_prepare(organization=organization, recipients=recipients, body=body, channel="api")


def store(organization, sends) -> tuple[bool, list[list[Message]]]:
    sent = [sending._messages_built(send) for send in sends]
    stored = messages_store_charged(
        organization=organization,
        pricing=sends[0].pricing,
        messages=[message for messages in sent for message in messages],
        now=sends[0].template.created_at,
        wake=None,
    )
    return stored, sent


def nothing_written(organization, *, balance: Decimal, ledger_entries: int) -> None:
    assert not Message.objects.unscoped().filter(organization=organization).exists()
    assert LedgerEntry.objects.unscoped().filter(organization=organization).count() == ledger_entries
    assert balance_get(organization=organization) == balance
    assert counted(organization) == {}


@pytest.mark.postgres
def test_sends_are_stored_charged_and_counted_in_one_statement(chain, funded_org_a, funded_org_b):
    start = balance_get(organization=funded_org_a)
    twice = numbers(1, start=7)[0]
    sends = [
        prepared(funded_org_a, [twice, numbers(1, start=8)[0]]),
        prepared(funded_org_a, [twice], body="x" * 200),  # two segments
        prepared(funded_org_a, ["09181234567"]),  # another network: another count row
    ]
    with CaptureQueriesContext(connection) as queries:
        stored, sent = store(funded_org_a, sends)

    assert stored is True
    assert len(queries.captured_queries) == 1
    messages = [message for messages in sent for message in messages]
    assert [m.segments for m in messages] == [1, 1, 2, 1]
    for message in messages:  # each got its own row's id (the same number twice included)
        row = Message.objects.unscoped().get(pk=message.pk)
        assert (row.recipient, row.body, row.status) == (message.recipient, message.body, MessageStatus.QUEUED)
    entries = sorted(charges(funded_org_a), key=lambda entry: entry.id)
    assert [(e.message_id, -e.amount, e.segments) for e in entries] == [(m.pk, m.price, m.segments) for m in messages]
    total = sum((m.price for m in messages), Decimal(0))
    assert balance_get(organization=funded_org_a) == start - total
    account = CreditAccount.objects.unscoped().get(organization=funded_org_a)
    assert account.usage_segments == 5
    assert_ledger_invariant(funded_org_a)
    assert counted(funded_org_a) == truth(funded_org_a)
    assert not Message.objects.unscoped().filter(organization=funded_org_b).exists()  # the other one untouched
    assert counted(funded_org_b) == {}


@pytest.mark.postgres
def test_a_refused_charge_writes_nothing(chain, org_a):
    fund(org_a, "1.50")
    sends = [prepared(org_a, numbers(1)), prepared(org_a, numbers(1, start=1))]  # 2.00: more than the balance

    stored, _ = store(org_a, sends)

    assert stored is False
    nothing_written(org_a, balance=Decimal("1.50"), ledger_entries=1)


@pytest.mark.postgres
def test_a_suppressed_number_writes_nothing_and_the_usual_way_rejects_it(chain, funded_org_a):
    opted_out = numbers(1, start=40)[0]
    opt_out_add(organization=funded_org_a, phone_number=opted_out)
    start = balance_get(organization=funded_org_a)
    sends = [prepared(funded_org_a, [opted_out, numbers(1, start=41)[0]])]

    stored, _ = store(funded_org_a, sends)
    assert stored is False
    nothing_written(funded_org_a, balance=start, ledger_entries=1)

    [messages] = sending._sends_store_grouped(sends)
    assert [m.status for m in messages] == [MessageStatus.REJECTED, MessageStatus.QUEUED]
    assert [e.message_id for e in charges(funded_org_a)] == [messages[1].pk]
    assert counted(funded_org_a) == truth(funded_org_a)


@pytest.mark.postgres
def test_the_monthly_limit_reached_writes_nothing(chain, funded_org_a):
    sends = [prepared(funded_org_a, numbers(1))]
    CreditAccount.objects.unscoped().filter(organization=funded_org_a).update(monthly_segment_limit=0)
    start = balance_get(organization=funded_org_a)

    stored, _ = store(funded_org_a, sends)

    assert stored is False
    nothing_written(funded_org_a, balance=start, ledger_entries=1)


@pytest.mark.postgres
def test_crossing_the_low_balance_threshold_arms_the_alert_once(chain, org_a, django_capture_on_commit_callbacks):
    funded_with_low_balance_alert(org_a, balance="3.00", threshold="1.50")
    with django_capture_on_commit_callbacks() as callbacks:
        for start in range(3):  # 2.00 left: not below; 1.00: below, armed; 0.00: already armed
            assert store(org_a, [prepared(org_a, numbers(1, start=start))])[0] is True
    assert CreditAccount.objects.unscoped().get(organization=org_a).low_balance_alerted is True
    assert len(callbacks) == 1
    assert_ledger_invariant(org_a)


@pytest.mark.postgres
def test_grouped_sends_of_two_organizations_each_take_one_statement_and_keep_their_own_refusals(chain, org_a, org_b):
    fund(org_a, "10.00")
    fund(org_b, "0.50")  # less than one message
    sends = [prepared(org_b, numbers(1)), prepared(org_a, numbers(1, start=1)), prepared(org_a, numbers(1, start=2))]
    with CaptureQueriesContext(connection) as queries:
        refused, first, second = sending._sends_store_grouped(sends)

    assert isinstance(refused, ItemFailed) and isinstance(refused.error, InsufficientCredits)
    assert [e.message_id for e in sorted(charges(org_a), key=lambda e: e.id)] == [first[0].pk, second[0].pk]
    nothing_written(org_b, balance=Decimal("0.50"), ledger_entries=1)
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum("inserted AS (" in sql for sql in statements) == 2  # org A's statement, then org B's (refused)


@pytest.mark.postgres
def test_sends_priced_by_the_default_plan_that_staff_have_not_created_share_one_statement(chain, funded_org_a):
    PricePlan.objects.all().delete()  # the default plan is then built from the settings, unsaved, and cached
    sends = [prepared(funded_org_a, numbers(1)), prepared(funded_org_a, numbers(1, start=1))]
    with CaptureQueriesContext(connection) as queries:
        first, second = sending._sends_store_grouped(sends)
    assert len(queries.captured_queries) == 1
    assert [e.message_id for e in sorted(charges(funded_org_a), key=lambda e: e.id)] == [first[0].pk, second[0].pk]


@pytest.mark.postgres
def test_an_organization_whose_statement_fails_does_not_store_another_twice(
    chain, funded_org_a, funded_org_b, monkeypatch
):
    real = sending.messages_store_charged

    def fails_for_b(**kwargs):
        if kwargs["organization"].pk == funded_org_b.pk:
            raise DatabaseError("connection lost")
        return real(**kwargs)

    monkeypatch.setattr(sending, "messages_store_charged", fails_for_b)
    stored, failed = sending._sends_store_grouped(
        [prepared(funded_org_a, numbers(1)), prepared(funded_org_b, numbers(1))]
    )

    assert isinstance(failed, ItemFailed) and isinstance(failed.error, DatabaseError)
    assert [e.message_id for e in charges(funded_org_a)] == [stored[0].pk]
    assert Message.objects.unscoped().filter(organization=funded_org_a).count() == 1
    assert not Message.objects.unscoped().filter(organization=funded_org_b).exists()


def test_on_sqlite_nothing_is_stored_in_one_statement(chain, funded_org_a):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL stores in one statement (the tests above)")
    stored, _ = store(funded_org_a, [prepared(funded_org_a, numbers(1))])
    assert stored is False
    assert not Message.objects.unscoped().filter(organization=funded_org_a).exists()
    [[message]] = sending._sends_store_grouped([prepared(funded_org_a, numbers(1))])  # one transaction
    assert MessageDailyCount.objects.filter(organization=funded_org_a).exists() and message.pk
