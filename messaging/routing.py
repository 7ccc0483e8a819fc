"""Choosing a provider for a message: the chain, the reasons a provider is skipped, the calendar month.

Pure logic over snapshots (`RouteState`), so the same rules serve the worker (which holds row locks and mutates
the snapshots as it assigns a batch) and `route_explain` (which only reads). The rules, in chain order
(ascending `Provider.priority`, then id), first match wins:

1. disabled providers are skipped (`disabled`);
2. a provider that does not cover the recipient's network is skipped (`network_not_covered`);
3. a provider that told us its monthly limit is reached is skipped until the next month (`provider_limit_reached`);
4. a provider whose portal-counted quota for this calendar month (`portal.timezone`) is used is skipped
   (`monthly_quota_used`);
5. a provider whose circuit is open is skipped until its cool-down ends (`circuit_open`); after the cool-down it
   gets exactly one probe message (half-open) while others are skipped (`probe_in_flight`): the breaker's rules
   are in `messaging.dispatch.circuit_breaker`;
6. a provider that gave a final answer about this message (an answer retrying on it cannot fix) is skipped for
   it (`failed_for_this_message`). Transient errors (timeouts, 5xx, throttling) never exclude a provider from a
   message: the message backs off and is routed again by these same rules, so it returns to the provider once its
   circuit is closed again and takes the next provider while the circuit is open.

The "primary" is the first enabled provider of the chain. When a message skips the primary for reasons 3-5 it is a
fallback, and the engine publishes the "SMS Fallback Route" notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.db import models

from messaging.dispatch.circuit_breaker import circuit_check
from messaging.models import Provider


class SkipReason(models.TextChoices):
    DISABLED = "disabled", "Disabled by staff"  # staff switched the route off
    NETWORK = "network_not_covered", "Does not cover the network"  # route lacks the recipient's network
    PROVIDER_LIMIT = (
        "provider_limit_reached",
        "Provider said its monthly limit is reached",
    )  # until next month
    QUOTA = "monthly_quota_used", "Monthly quota used"  # the portal's own count reached monthly_quota
    CIRCUIT_OPEN = "circuit_open", "Unhealthy (circuit open)"  # consecutive retryable failures; cooling down
    PROBE_IN_FLIGHT = "probe_in_flight", "Being probed"  # half-open: one probe message is testing it
    FAILED_FOR_MESSAGE = (
        "failed_for_this_message",
        "Gave a final answer about this message",
    )  # retrying on this route cannot help: another route


# Skips that mean "the primary cannot take traffic now" (as opposed to "not this network / not this message").
FALLBACK_REASONS = frozenset(
    {SkipReason.PROVIDER_LIMIT, SkipReason.QUOTA, SkipReason.CIRCUIT_OPEN, SkipReason.PROBE_IN_FLIGHT}
)


@dataclass
class RouteState:
    """A provider and what routing needs to know about it right now (mutated while a batch is assigned)."""

    provider: Provider
    used_this_month: int
    probe_taken: bool = False

    @property
    def quota_left(self) -> int | None:
        if self.provider.monthly_quota is None:
            return None
        return max(0, self.provider.monthly_quota - self.used_this_month)


@dataclass
class Skip:
    provider_id: int
    name: str
    reason: str
    detail: str

    def as_dict(self) -> dict:
        return {"provider": self.provider_id, "name": self.name, "reason": self.reason, "detail": self.detail}


@dataclass
class RouteDecision:
    state: RouteState | None
    skipped: list[Skip] = field(default_factory=list)
    is_probe: bool = False

    @property
    def provider(self) -> Provider | None:
        return self.state.provider if self.state else None

    @cached_property
    def skipped_as_dicts(self) -> list[dict]:
        """The skips as stored on the attempt (one list per decision; a reused decision shares it)."""
        return [skip.as_dict() for skip in self.skipped]

    @property
    def sender_name(self) -> str:
        return self.state.provider.sender_name if self.state else ""

    @property
    def reason(self) -> str:
        if self.state is None:
            return "no provider can take it now"
        position = "first" if not self.skipped else f"next after {len(self.skipped)} skipped"
        probe = " (half-open probe)" if self.is_probe else ""
        return f"{position} provider in the chain able to take it{probe}"

    def skipped_primary_for_fallback(self, primary_id: int | None) -> Skip | None:
        """The skip of the primary when it means a fallback (limit, quota, health), else None."""
        for skip in self.skipped:
            if skip.provider_id == primary_id and skip.reason in FALLBACK_REASONS:
                return skip
        return None


# What a refusal of the circuit breaker means for routing.
_CIRCUIT_SKIP_REASONS = {"open": SkipReason.CIRCUIT_OPEN, "probe_in_flight": SkipReason.PROBE_IN_FLIGHT}


def choose_route(
    *,
    chain: list[RouteState],
    network: str,
    now: datetime,
    failed_provider_ids: frozenset[int] = frozenset(),
) -> RouteDecision:
    """The first provider in `chain` able to take a message to `network` now, and why the earlier ones
    were not. `failed_provider_ids`: the providers that gave a final answer about this message."""
    skipped: list[Skip] = []
    for state in chain:
        provider = state.provider
        if not provider.enabled:
            skipped.append(Skip(provider.id, provider.name, SkipReason.DISABLED, "switched off by staff"))
            continue
        if not provider.covers(network):
            detail = f"covers {', '.join(provider.networks)}; recipient is on {network}"
            skipped.append(Skip(provider.id, provider.name, SkipReason.NETWORK, detail))
            continue
        if provider.exhausted_until and now < provider.exhausted_until:
            detail = f"provider said its limit is reached; retried from {provider.exhausted_until:%Y-%m-%d}"
            skipped.append(Skip(provider.id, provider.name, SkipReason.PROVIDER_LIMIT, detail))
            continue
        if state.quota_left == 0:
            detail = f"{state.used_this_month} of {provider.monthly_quota} messages used this month"
            skipped.append(Skip(provider.id, provider.name, SkipReason.QUOTA, detail))
            continue
        circuit = circuit_check(provider, probe_taken=state.probe_taken, now=now)
        if not circuit.allowed:
            reason = _CIRCUIT_SKIP_REASONS[circuit.blocked_by]
            skipped.append(Skip(provider.id, provider.name, reason, circuit.detail))
            continue
        if provider.id in failed_provider_ids:
            detail = "gave a final answer about this message; not offered it again"
            skipped.append(Skip(provider.id, provider.name, SkipReason.FAILED_FOR_MESSAGE, detail))
            continue
        return RouteDecision(state=state, skipped=skipped, is_probe=circuit.is_probe)
    return RouteDecision(state=None, skipped=skipped)


def primary_of(chain: list[RouteState]) -> Provider | None:
    """The first enabled provider of the chain: the route whose absence the fallback notice announces."""
    return next((state.provider for state in chain if state.provider.enabled), None)
