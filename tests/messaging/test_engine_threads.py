"""A provider that takes one number a call gets SMS_DISPATCH_CALL_THREADS calls at once per worker, each thread with
its own adapter; every outcome still lands on its own message, and the one-by-one rules hold (a "limit reached"
answer stops the rest, which move to the next provider)."""

import threading
from collections import Counter

import pytest

from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import Message, MessageStatus, Provider
from messaging.providers.iprog.adapter import IprogAdapter
from messaging.services.sending import message_send
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, numbers, refunds

ONE_NUMBER_PATH = "tests.messaging.test_engine_threads.OneNumberIprogAdapter"


class OneNumberIprogAdapter(IprogAdapter):
    """IPROG without its bulk endpoint, counting how many of its calls are on the wire at once."""

    code = "iprog_one_number"
    supports_bulk = False
    max_bulk = 1
    lock = threading.Lock()
    in_flight = 0
    most_at_once = 0
    sessions: set[int] = set()

    def send(self, *, recipient, body, reference):
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most_at_once = max(cls.most_at_once, cls.in_flight)
            cls.sessions.add(id(self.session))
        try:
            return super().send(recipient=recipient, body=body, reference=reference)
        finally:
            with cls.lock:
                cls.in_flight -= 1


@pytest.fixture
def one_number_chain(db, provider_simulator, fast_retries):
    fast_retries.SMS_PROVIDER_ADAPTERS = [*fast_retries.SMS_PROVIDER_ADAPTERS, ONE_NUMBER_PATH]
    fast_retries.SMS_DISPATCH_CALL_THREADS = 4
    OneNumberIprogAdapter.most_at_once = 0
    OneNumberIprogAdapter.sessions = set()
    primary, fallback = make_chain(provider_simulator)
    Provider.objects.filter(pk=primary.pk).update(adapter=OneNumberIprogAdapter.code)
    provider_simulator.configure("iprog", latency_ms=30)  # long enough for the calls to overlap
    return primary, fallback


def test_one_number_calls_go_out_concurrently_and_each_outcome_lands_on_its_message(
    one_number_chain, funded_org_a, provider_simulator
):
    primary, _ = one_number_chain
    message_send(organization=funded_org_a, recipients=numbers(40), body="One at a time", channel="api")

    summary = dispatch_queued_messages()

    assert summary.by_provider == {"IPROGSMS": 40}
    assert 1 < OneNumberIprogAdapter.most_at_once <= 4
    assert len(OneNumberIprogAdapter.sessions) > 1  # an adapter (a requests session) per thread
    sent = {m["recipient"]: m["message_id"] for m in provider_simulator.messages("iprog")}
    rows = list(Message.objects.filter(organization=funded_org_a))
    assert len(sent) == 40 and len(rows) == 40
    # Each message carries the id the provider gave for its own number: no outcome landed on another message.
    assert {(m.recipient, m.provider_message_id) for m in rows} == set(sent.items())
    assert {m.status for m in rows} == {MessageStatus.SENT}
    assert len(charges(funded_org_a)) == 40 and refunds(funded_org_a) == []


def test_a_limit_answer_stops_the_other_threads_and_the_rest_moves_on(
    one_number_chain, funded_org_a, provider_simulator
):
    primary, fallback = one_number_chain
    provider_simulator.configure("iprog", quota=5)
    message_send(organization=funded_org_a, recipients=numbers(40), body="One at a time", channel="api")

    dispatch_queued_messages()

    by_route = Counter(Message.objects.filter(organization=funded_org_a).values_list("provider_id", "status"))
    assert by_route == {(primary.pk, MessageStatus.SENT): 5, (fallback.pk, MessageStatus.SENT): 35}
    handed_over = Counter(m["recipient"] for m in provider_simulator.sent)
    assert len(handed_over) == 40 and set(handed_over.values()) == {1}
    # After the limit answer, at most the calls already on the wire reached the primary.
    assert provider_simulator.stats()["iprog"]["requests"] <= 5 + 1 + 4
    assert len(charges(funded_org_a)) == 40 and refunds(funded_org_a) == []
