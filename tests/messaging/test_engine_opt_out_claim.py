"""An organization's opt-out added after a message was accepted stops it at the claim, asked with the keyed hash
the message stores (no number hashed again), beside the platform's suppressions."""

from messaging.contacts import selectors
from messaging.contacts.services import opt_out_add
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import MessageStatus
from messaging.services.sending import message_send
from portal import hooks
from portal.crypto import phone_lookup_hash
from privacy.data.objections import suppression_add
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, refunds


def send(org, recipients):
    return message_send(organization=org, recipients=recipients, body="Hello", channel="api")


def test_an_opt_out_after_acceptance_stops_the_message_at_the_claim(
    provider_simulator, fast_retries, funded_org_a, funded_org_b, monkeypatch
):
    make_chain(provider_simulator)
    # Accepted and queued; the dispatch task enqueued on commit is not run here.
    out, suppressed, kept = send(funded_org_a, ["09171111111", "09173333333", "09172222222"])
    [elsewhere] = send(funded_org_b, ["09171111111"])
    opt_out_add(organization=funded_org_a, phone_number="0917 111 1111")
    suppression_add(phone_number="09173333333", source="staff")
    hashed = []
    monkeypatch.setattr(
        selectors, "phone_lookup_hash", lambda number: hashed.append(number) or phone_lookup_hash(number)
    )

    dispatch_queued_messages()

    for message in (out, suppressed, kept, elsewhere):
        message.refresh_from_db()
    assert (out.status, out.error_code) == (MessageStatus.REJECTED, "recipient_opted_out")
    assert (suppressed.status, suppressed.error_code) == (MessageStatus.REJECTED, "recipient_opted_out")
    assert kept.status == elsewhere.status == MessageStatus.SENT
    assert sorted(m["recipient"] for m in provider_simulator.sent) == ["+639171111111", "+639172222222"]
    assert sorted(e.message_id for e in refunds(funded_org_a)) == sorted([out.pk, suppressed.pk])
    assert hashed == []  # the stored hashes were asked


def test_the_list_answers_alike_by_number_and_by_stored_hash(funded_org_a):
    opt_out_add(organization=funded_org_a, phone_number="09171111111")
    numbers = ["+639171111111", "+639172222222"]
    by_number = selectors.organization_opted_out(organization_id=funded_org_a.pk, numbers=numbers)
    stored = {number: phone_lookup_hash(number) for number in numbers}
    assert by_number == {"+639171111111"}

    def by_stored_hash(number_hashes):
        lookup = selectors.organization_opted_out_lookup(
            organization_id=funded_org_a.pk, numbers=list(number_hashes), number_hashes=number_hashes
        )
        return hooks.suppression_lookups_run([lookup])

    assert by_stored_hash(stored) == by_number
    # A number without a stored hash is hashed; an empty number matches nothing.
    assert by_stored_hash({"+639171111111": "", "": ""}) == by_number
    assert by_stored_hash({}) == set()
