"""Small sends made at the same moment share one transaction (`sending.sends_store` through `portal.group_commit`):
each caller still gets its own messages or its own refusal, nothing is charged twice, and one organization's
opt-outs never suppress another's messages."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from billing.errors import InsufficientCredits
from billing.selectors import balance_get
from messaging.contacts.services import opt_out_add
from messaging.models import Message, MessageStatus
from messaging.services import sending
from messaging.services.sending import message_send, send_prepare, sends_store
from portal.group_commit import GroupCommit
from tests.billing.helpers import assert_ledger_invariant, fund
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, numbers


def prepared(organization, recipients, body="Grouped"):
    return send_prepare(organization=organization, recipients=recipients, body=body, channel="api")


def test_sends_of_two_organizations_stored_together_keep_their_own_opt_outs_and_charges(
    chain, funded_org_a, funded_org_b
):
    opted_out = numbers(1, start=500)[0]
    opt_out_add(organization=funded_org_a, phone_number=opted_out)
    sends = [
        prepared(funded_org_a, [opted_out, numbers(1)[0]]),
        prepared(funded_org_b, [opted_out]),
        prepared(funded_org_a, numbers(2, start=10)),
    ]
    first_a, only_b, second_a = sends_store(sends)

    assert [m.status for m in first_a] == [MessageStatus.REJECTED, MessageStatus.QUEUED]
    assert first_a[0].error_code == "recipient_opted_out" and first_a[0].price == 0
    assert [m.status for m in only_b] == [MessageStatus.QUEUED]  # org A's opt-out is not org B's
    assert [m.status for m in second_a] == [MessageStatus.QUEUED, MessageStatus.QUEUED]
    assert {m.organization_id for m in [*first_a, *second_a]} == {funded_org_a.pk}
    assert only_b[0].organization_id == funded_org_b.pk
    assert sorted(e.message_id for e in charges(funded_org_a)) == sorted(m.pk for m in [first_a[1], *second_a])
    assert [e.message_id for e in charges(funded_org_b)] == [only_b[0].pk]
    assert_ledger_invariant(funded_org_a)
    assert_ledger_invariant(funded_org_b)


def test_a_batch_costs_the_statements_of_one_send_per_organization_however_many_sends(
    chain, funded_org_a, funded_org_b
):
    sends_store([prepared(funded_org_a, numbers(1, start=900))])  # statements built once per process
    two = [prepared(funded_org_a, numbers(1, start=901)), prepared(funded_org_b, numbers(1, start=902))]
    five = [prepared(org, numbers(1, start=910 + i)) for i, org in enumerate([funded_org_a, funded_org_b] * 2)]
    five.append(prepared(funded_org_a, numbers(1, start=920)))
    with CaptureQueriesContext(connection) as two_sends:
        sends_store(two)
    with CaptureQueriesContext(connection) as five_sends:
        sends_store(five)
    assert len(five_sends.captured_queries) == len(two_sends.captured_queries)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_share_a_transaction_and_each_caller_gets_its_own_answer(
    provider_simulator, fast_retries, org_a, org_b, monkeypatch
):
    assert connection.vendor == "postgresql"
    make_chain(provider_simulator)
    fund(org_a, "100.00")
    fund(org_b, "0.01")  # less than one message: every send of org B is refused
    start_a = balance_get(organization=org_a)

    first_batch_running, release_first_batch = threading.Event(), threading.Event()
    batches: list[int] = []

    def store_holding_the_first_batch(sends):
        batches.append(len(sends))
        if len(batches) == 1:
            first_batch_running.set()
            assert release_first_batch.wait(30)
        return sending._sends_store_grouped(sends)

    group = GroupCommit(store_holding_the_first_batch, max_items=64)
    monkeypatch.setattr(sending, "_grouped_sends", group)
    outcomes: dict = {}

    def send(index, organization):
        try:
            outcomes[index] = message_send(
                organization=organization, recipients=numbers(1, start=index), body="Grouped", channel="api"
            )
        except Exception as exc:  # what the caller would see
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(0, org_a))]
    threads[0].start()
    assert first_batch_running.wait(30)
    for index in range(1, 13):
        organization = org_b if index % 4 == 0 else org_a
        threads.append(threading.Thread(target=send, args=(index, organization)))
        threads[-1].start()
    for _ in range(2000):
        with group._lock:
            if len(group._waiting) == 12:
                break
        threading.Event().wait(0.005)
    release_first_batch.set()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    assert batches[:2] == [1, 12]  # the twelve that came during the first batch were tried together
    refused = sorted(i for i, outcome in outcomes.items() if isinstance(outcome, Exception))
    assert refused == [4, 8, 12]
    assert all(isinstance(outcomes[i], InsufficientCredits) for i in refused)
    sent = {i: outcome for i, outcome in outcomes.items() if i not in refused}
    for index, [message] in sent.items():
        assert message.recipient == "+63" + numbers(1, start=index)[0][1:]
        assert message.organization_id == org_a.pk
    # Each accepted message stored and charged once; nothing of the refused ones was kept.
    assert Message.objects.unscoped().filter(organization=org_a).count() == len(sent)
    assert Message.objects.unscoped().filter(organization=org_b).count() == 0
    assert sorted(e.message_id for e in charges(org_a)) == sorted(m.pk for [m] in sent.values())
    assert balance_get(organization=org_a) == start_a - sum((m.price for [m] in sent.values()), Decimal(0))
    assert balance_get(organization=org_b) == Decimal("0.01")
    assert_ledger_invariant(org_a)
