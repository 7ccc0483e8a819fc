"""The claim takes enough messages to fill one call of the provider that takes the most numbers a call: a batch of
500 would send a 1,000-number provider half-full calls."""

from messaging.dispatch.worker import claim_batch_size, dispatch_queued_messages
from messaging.models import Message, MessageStatus, Provider
from messaging.services.sending import message_send
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import make_chain, numbers


def test_claim_size_follows_the_largest_call_of_an_enabled_route(chain, settings):
    primary, fallback = chain  # IPROG, 500 numbers a call; Semaphore, 1,000
    assert claim_batch_size() == 1000
    Provider.objects.filter(pk=fallback.pk).update(enabled=False)
    assert claim_batch_size() == settings.SMS_DISPATCH_BATCH_SIZE == 500
    settings.SMS_DISPATCH_BATCH_SIZE = 2000
    assert claim_batch_size() == 2000


def test_a_thousand_messages_go_to_a_thousand_number_provider_in_one_call(
    provider_simulator, fast_retries, funded_org_a
):
    make_chain(provider_simulator, primary_quota=0)  # everything to Semaphore
    message_send(organization=funded_org_a, recipients=numbers(1000), body="One call", channel="api")

    summary = dispatch_queued_messages()

    assert summary.rounds == 1 and summary.by_provider == {"iprogtech fallback": 1000}
    assert provider_simulator.stats()["semaphore"]["requests"] == 1
    assert Message.objects.filter(organization=funded_org_a, status=MessageStatus.SENT).count() == 1000
