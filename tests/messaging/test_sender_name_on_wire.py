"""The organization's approved sender name reaches the provider over real HTTP when the route's adapter sends
custom names (Semaphore's `sendername`), and the message records the name it really went out with; a route that
cannot (IPROG) sends under its own name."""

from collections import Counter

from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import DispatchAttempt, Message, MessageStatus, Provider
from messaging.providers.iprog.adapter import IprogAdapter
from messaging.providers.registry import wire_sender_name
from messaging.providers.semaphore.adapter import SemaphoreAdapter
from messaging.sender_names import sender_name_approve, sender_name_request
from messaging.services.sending import message_send
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, numbers


def _approve(org, name):
    sender_name = sender_name_request(organization=org, name=name, purpose="receipts")
    return sender_name_approve(sender_name=sender_name, actor=None)


def _send(org, recipients, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return message_send(organization=org, recipients=recipients, body="Your order shipped", channel="api", **kwargs)


def test_capability_flags():
    assert SemaphoreAdapter.supports_custom_sender_name is True
    assert IprogAdapter.supports_custom_sender_name is False


def test_semaphore_route_sends_the_approved_name(
    provider_simulator, fast_retries, funded_org_a, funded_org_b, django_capture_on_commit_callbacks
):
    primary, fallback = make_chain(provider_simulator)
    primary.enabled = False  # only the Semaphore route
    primary.save()
    _approve(funded_org_a, "ACME Shop")
    _send(funded_org_a, numbers(3), django_capture_on_commit_callbacks, sender_name="ACME Shop")
    # Another organization without a name of its own: the route's name, in the same batch.
    _send(funded_org_b, numbers(2, start=100), django_capture_on_commit_callbacks)
    dispatch_queued_messages()

    received = Counter((m["recipient"], m["sender_name_received"], m["sender_name"]) for m in provider_simulator.sent)
    assert sorted(received) == sorted(
        [(f"+63{n[1:]}", "ACME Shop", "ACME Shop") for n in numbers(3)]
        + [(f"+63{n[1:]}", "iprogtech", "iprogtech") for n in numbers(2, start=100)]
    )
    ours = list(Message.objects.for_organization(funded_org_a))
    assert {(m.status, m.sender_name, m.requested_sender_name) for m in ours} == {
        (MessageStatus.SENT, "ACME Shop", "ACME Shop")
    }
    assert set(DispatchAttempt.objects.filter(message__in=ours).values_list("sender_name", flat=True)) == {"ACME Shop"}
    theirs = list(Message.objects.for_organization(funded_org_b))
    assert {(m.status, m.sender_name) for m in theirs} == {(MessageStatus.SENT, "iprogtech")}


def test_iprog_route_sends_under_its_own_name(
    provider_simulator, fast_retries, funded_org_a, django_capture_on_commit_callbacks
):
    primary, _ = make_chain(provider_simulator)
    _approve(funded_org_a, "ACME Shop")
    _send(funded_org_a, numbers(2), django_capture_on_commit_callbacks, sender_name="ACME Shop")
    dispatch_queued_messages()

    assert {(m["api"], m["sender_name_received"]) for m in provider_simulator.sent} == {("iprog", "")}
    messages = list(Message.objects.for_organization(funded_org_a))
    # Asked for its own name, went out as IPROGSMS: the log says so.
    assert {(m.status, m.sender_name, m.requested_sender_name) for m in messages} == {
        (MessageStatus.SENT, "IPROGSMS", "ACME Shop")
    }


def test_wire_sender_name_falls_back_to_the_route(db):
    semaphore = Provider(adapter="semaphore", sender_name="iprogtech")
    iprog = Provider(adapter="iprog", sender_name="IPROGSMS")
    unknown = Provider(adapter="nope", sender_name="ROUTE")
    assert wire_sender_name(semaphore, "ACME Shop") == "ACME Shop"
    assert wire_sender_name(semaphore, "") == "iprogtech"
    assert wire_sender_name(iprog, "ACME Shop") == "IPROGSMS"
    assert wire_sender_name(unknown, "ACME Shop") == "ROUTE"
