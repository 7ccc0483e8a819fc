"""Routing one claimed batch: the glue between the routing rules (`messaging.routing`, pure) and the claim.

`BatchRouter` keeps the chain's snapshot up to date as messages are assigned (quota reserved, a probe given out),
groups the routed messages by provider and, when the batch is done, writes the reservations and probes and
publishes or withdraws the "SMS Fallback Route" notice: published when a message skipped the primary for a
fallback reason, withdrawn when the primary took traffic again (a half-open probe does not count until it
succeeds).

The provider rows and this month's usage rows are what concurrent workers share, so they are locked as late as
possible: the batch is routed on a snapshot read without locks, its attempts are written, and only then are the
rows locked and the snapshot checked (`confirm`): every provider as routing saw it, and the quota reserved still
free. Workers thus wait for each other only for the end of a claim. When the check fails (a circuit opened, staff
changed a route, another worker used the quota) the claim routes the batch again on the locked rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from messaging.dispatch.batch import DispatchGroup
from messaging.dispatch.circuit_breaker import circuit_probe_start, circuit_probes_save
from messaging.dispatch.quota import usage_adjust, usage_read, usage_rows_lock
from messaging.models import DispatchAttempt, Message, Provider
from messaging.routing import RouteDecision, RouteState, Skip, choose_route, primary_of
from messaging.services.notices import fallback_notice_publish, fallback_notice_withdraw
from portal.timezone import month_start

# Provider fields routing and the provider call read; a change to any of them between the snapshot and the lock
# means the batch is routed again. (Counters the outcome step updates all the time are not among them.)
_ROUTING_FIELDS = (
    "enabled",
    "priority",
    "networks",
    "monthly_quota",
    "exhausted_until",
    "circuit_state",
    "circuit_opened_at",
    "probe_started_at",
    "sender_name",
    "adapter",
    "base_url",
    "credentials",
    "timeout_seconds",
)


def _routing_view(provider: Provider) -> tuple:
    return tuple(getattr(provider, name) for name in _ROUTING_FIELDS)


class BatchRouter:
    def __init__(self, *, now: datetime, locked: bool = False) -> None:
        """`locked`: lock the provider and usage rows first (the second routing of a batch whose snapshot did not
        hold); otherwise read them without locks and `confirm` later."""
        self.now = now
        self.month = month_start(now)
        self.locked = locked
        providers = Provider.objects.order_by("priority", "id")
        if locked:
            providers = list(providers.select_for_update(no_key=True))
            usage = usage_rows_lock(providers, self.month)
        else:
            providers = list(providers)
            usage = usage_read(providers, self.month)
        self.chain = [RouteState(provider=p, used_this_month=usage.get(p.pk, 0)) for p in providers]
        self.states = {state.provider.pk: state for state in self.chain}
        self.seen = {p.pk: _routing_view(p) for p in providers}  # before a probe changes the instance
        self.used_before = {pk: state.used_this_month for pk, state in self.states.items()}
        self.primary = primary_of(self.chain)
        # By provider and the sender name the attempt goes out with (one name per provider call).
        self.groups: dict[tuple[int, str], list[tuple[DispatchAttempt, Message]]] = defaultdict(list)
        self.probed: set[int] = set()
        self.reusable: dict[tuple[str, frozenset[int]], RouteDecision] = {}
        self.fallback: tuple[Skip, Provider] | None = None  # the skip of the primary, the provider used instead
        self.primary_took_traffic = False

    def confirm(self) -> bool:
        """Lock the provider rows and this month's usage rows; True when the batch's routing still holds on them:
        the same providers as routing saw them, and the quota this batch reserves still free."""
        if self.locked:
            return True
        # FOR NO KEY UPDATE: workers still take the provider rows one at a time, but another transaction's foreign
        # key check (an attempt or a message naming the provider, FOR KEY SHARE) is not blocked by it; with
        # FOR UPDATE a claim holding one provider row and waiting for the next could deadlock with a claim or an
        # outcome that had inserted an attempt naming that first provider.
        providers = list(Provider.objects.select_for_update(no_key=True).order_by("priority", "id"))
        usage = usage_rows_lock(providers, self.month)
        self.locked = True
        if [p.pk for p in providers] != list(self.states):
            return False
        for provider in providers:
            state = self.states[provider.pk]
            if _routing_view(provider) != self.seen[provider.pk]:
                return False
            reserved = state.used_this_month - self.used_before[provider.pk]
            if (
                provider.monthly_quota is not None
                and reserved
                and usage.get(provider.pk, 0) + reserved > (provider.monthly_quota)
            ):
                return False
        return True

    def route(self, message: Message, *, failed_provider_ids: frozenset[int]) -> RouteDecision:
        """The message's route; a route found reserves one message of its quota (and may be the probe).

        Within a batch the rules give the same answer for the same network and exclusions until a quota runs
        down or a probe is given out, so such an answer is reused: unless it is a probe, or its provider has a
        monthly quota (which each message reduces)."""
        key = (message.network, failed_provider_ids)
        decision = self.reusable.get(key)
        if decision is None:
            decision = choose_route(
                chain=self.chain, network=message.network, now=self.now, failed_provider_ids=failed_provider_ids
            )
            if not decision.is_probe and (decision.state is None or decision.state.provider.monthly_quota is None):
                self.reusable[key] = decision
        state = decision.state
        if state is not None:
            state.used_this_month += 1
            if decision.is_probe:
                state.probe_taken = True
                circuit_probe_start(state.provider, now=self.now)
                self.probed.add(state.provider.pk)
        return decision

    def assign(self, attempt: DispatchAttempt, message: Message, decision: RouteDecision) -> None:
        """Put a routed message (with its in-flight attempt) in its provider's group."""
        provider = decision.provider
        self.groups[(provider.pk, attempt.sender_name)].append((attempt, message))
        if self.primary is None:
            return
        if provider.pk == self.primary.pk:
            # A half-open probe does not prove the primary is back: the notice stays until it succeeds.
            self.primary_took_traffic = self.primary_took_traffic or not decision.is_probe
            return
        skip = decision.skipped_primary_for_fallback(self.primary.pk)
        if skip is not None:
            self.fallback = (skip, provider)

    def routed_message_ids(self) -> list[int]:
        return [message.pk for items in self.groups.values() for _, message in items]

    def finish(self) -> None:
        """Write the quota reservations and probes; publish or withdraw the fallback notice (rows locked)."""
        for pk, state in self.states.items():
            usage_adjust(pk, self.month, state.used_this_month - self.used_before[pk])
        circuit_probes_save([self.states[pk].provider for pk in self.probed])
        if self.fallback is not None:
            skip, used = self.fallback
            fallback_notice_publish(primary=self.primary, fallback=used, reason=skip.reason)
        elif self.primary_took_traffic:
            fallback_notice_withdraw(primary=self.primary)

    def dispatch_groups(self) -> list[DispatchGroup]:
        return [
            DispatchGroup(provider=self.states[pk].provider, items=items, month=self.month, sender_name=sender_name)
            for (pk, sender_name), items in self.groups.items()
        ]
