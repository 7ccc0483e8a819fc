"""The claim routes a batch on a snapshot of the provider chain read without locks and locks the provider and usage
rows only at its end (`BatchRouter.confirm`). When the snapshot no longer holds by then (another worker opened a
circuit, used the quota; staff switched a route off), the batch's writes are rolled back to a savepoint and it is
routed again on the locked rows: nothing goes out on a route it should not, no quota is overrun."""

from collections import Counter

import pytest
from django.db.models import F
from django.utils import timezone

from messaging.dispatch import route_batch
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.models import AttemptStatus, CircuitState, DispatchAttempt, Message, MessageStatus, Provider
from messaging.services.sending import message_send
from portal.timezone import month_start
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, numbers, refunds
from tests.scale.test_daily_counts import counted, truth


def meanwhile(monkeypatch, change) -> list[bool]:
    """Run `change` (what another worker or staff did) right after the claim read its snapshot of the chain, so the
    batch is routed on rows that changed before they are locked. (Here it runs in the claim's own transaction,
    before the claim's savepoint; another worker's change would be committed by its own.) Returns, per routing
    of a batch, whether it was routed on locked rows."""
    real_init = route_batch.BatchRouter.__init__
    routings: list[bool] = []

    def init(self, *, now, locked=False):
        real_init(self, now=now, locked=locked)
        if not routings:
            change()
        routings.append(locked)

    monkeypatch.setattr(route_batch.BatchRouter, "__init__", init)
    return routings


def usage_row(provider):
    return provider.monthly_usage.create(month=month_start(timezone.now()), messages=0)


@pytest.mark.parametrize(
    "change",
    [
        lambda primary: Provider.objects.filter(pk=primary.pk).update(circuit_state=CircuitState.OPEN),
        lambda primary: Provider.objects.filter(pk=primary.pk).update(enabled=False),
        lambda primary: primary.monthly_usage.update(messages=F("messages") + 10),  # another worker took the quota
    ],
    ids=["circuit-opened", "switched-off", "quota-used-meanwhile"],
)
def test_a_batch_whose_snapshot_changed_is_routed_again_on_the_locked_rows(
    provider_simulator, fast_retries, funded_org_a, monkeypatch, change
):
    primary, fallback = make_chain(provider_simulator, primary_quota=10)
    usage_row(primary)
    message_send(organization=funded_org_a, recipients=numbers(5), body="Snapshot", channel="api")
    routings = meanwhile(monkeypatch, lambda: change(primary))

    dispatch_queued_messages()

    assert routings[:2] == [False, True]  # routed on the snapshot, which did not hold: again on the locked rows
    rows = Message.objects.filter(organization=funded_org_a)
    assert set(rows.values_list("status", "provider_id")) == {(MessageStatus.SENT, fallback.pk)}
    # The first routing's attempts were rolled back: one attempt per message, to the fallback.
    assert Counter(DispatchAttempt.objects.values_list("provider_id", "status")) == {
        (fallback.pk, AttemptStatus.ACCEPTED): 5
    }
    assert [m["api"] for m in provider_simulator.sent] == ["semaphore"] * 5
    assert primary.monthly_usage.get().messages in (0, 10)  # nothing reserved on the primary by this batch
    assert len(charges(funded_org_a)) == 5 and refunds(funded_org_a) == []


def test_a_snapshot_that_still_holds_is_confirmed_once(provider_simulator, fast_retries, funded_org_a, monkeypatch):
    primary, _ = make_chain(provider_simulator, primary_quota=100)
    usage_row(primary)
    message_send(organization=funded_org_a, recipients=numbers(5), body="Snapshot", channel="api")
    # Another worker used some quota meanwhile, but enough is left for this batch.
    routings = meanwhile(monkeypatch, lambda: primary.monthly_usage.update(messages=F("messages") + 90))

    dispatch_queued_messages()

    assert True not in routings  # never routed again
    assert Message.objects.filter(organization=funded_org_a, provider=primary, status=MessageStatus.SENT).count() == 5
    assert primary.monthly_usage.get().messages == 95


def test_a_route_is_reused_within_a_batch_only_while_nothing_it_depends_on_runs_down(chain):
    primary, fallback = chain
    now = timezone.now()
    smart, globe = Message(network="smart"), Message(network="globe")

    router = route_batch.BatchRouter(now=now)
    first = router.route(smart, failed_provider_ids=frozenset())
    assert router.route(smart, failed_provider_ids=frozenset()) is first  # no quota, no probe: the same answer
    assert router.route(globe, failed_provider_ids=frozenset()) is not first  # another network: asked anew
    assert router.route(smart, failed_provider_ids=frozenset({primary.pk})).provider == fallback
    assert router.states[primary.pk].used_this_month == 3  # every routed message still reserves its quota

    Provider.objects.filter(pk=primary.pk).update(monthly_quota=2)
    router = route_batch.BatchRouter(now=now)
    routes = [router.route(smart, failed_provider_ids=frozenset()).provider for _ in range(3)]
    assert routes == [primary, primary, fallback]  # a quota runs down: asked every time


def test_a_batch_that_finds_no_route_on_the_locked_rows_goes_back_to_the_queue_as_it_was(
    provider_simulator, fast_retries, funded_org_a, monkeypatch
):
    """Routed on the snapshot, then every route was switched off before the rows were locked: routed again, the
    batch finds no route, so its messages wait in the queue. Nothing of the first routing may survive the rollback:
    not the `sending` status it gave the messages in memory, nor the daily counts it moved."""
    make_chain(provider_simulator, primary_quota=100)
    message_send(organization=funded_org_a, recipients=numbers(5), body="Snapshot", channel="api")
    routings = meanwhile(monkeypatch, lambda: Provider.objects.update(enabled=False))

    dispatch_queued_messages()

    assert routings[:2] == [False, True]
    rows = Message.objects.filter(organization=funded_org_a)
    assert set(rows.values_list("status", "error_code", "attempts")) == {(MessageStatus.QUEUED, "no_route", 1)}
    assert Counter(DispatchAttempt.objects.values_list("provider_id", "status")) == {(None, AttemptStatus.NO_ROUTE): 5}
    assert provider_simulator.sent == []
    assert counted(funded_org_a) == truth(funded_org_a)
    assert len(charges(funded_org_a)) == 5 and refunds(funded_org_a) == []
