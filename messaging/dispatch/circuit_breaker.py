"""The circuit breaker of each provider route, in one place.

    CLOSED --SMS_CIRCUIT_FAILURE_THRESHOLD consecutive retryable failures, or a configuration error--> OPEN
    OPEN --SMS_CIRCUIT_COOLDOWN_SECONDS later, one message goes out as a probe--> HALF_OPEN
    HALF_OPEN --any answer from the provider--> CLOSED;  --the probe fails--> OPEN (cool-down again)
    any state --staff reset (admin)--> CLOSED

While open, routing skips the provider ("circuit_open"); while its probe is out, others are skipped
("probe_in_flight"); a probe older than SMS_IN_FLIGHT_TIMEOUT_SECONDS is considered lost and another may go.
Failures are counted per HTTP call: a failed bulk request is one failure however many messages it carried, and a
message left unsent because the ones before it failed (`not_attempted`) is none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from messaging.dispatch.batch import NOT_ATTEMPTED_CODE
from messaging.models import CircuitState, Provider
from messaging.providers.base import ProviderConfigError, ProviderError, ProviderQuotaExhausted
from portal.timezone import next_month_start

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CircuitCheck:
    """Whether the breaker lets a message through now; `blocked_by` is "open" or "probe_in_flight" otherwise."""

    allowed: bool
    is_probe: bool = False
    blocked_by: str = ""
    detail: str = ""


def circuit_check(provider: Provider, *, probe_taken: bool, now: datetime) -> CircuitCheck:
    """Closed: allowed. Open: refused until the cool-down ends, then one probe. Half-open: refused while the probe
    is out (`probe_taken`: a probe was already given out in this batch)."""
    if provider.circuit_state == CircuitState.CLOSED:
        return CircuitCheck(allowed=True)
    if provider.circuit_state == CircuitState.OPEN:
        reopen_at = (provider.circuit_opened_at or now) + timedelta(seconds=settings.SMS_CIRCUIT_COOLDOWN_SECONDS)
        if now < reopen_at:
            failures = provider.consecutive_failures
            detail = f"{failures} consecutive failures; probed again after {reopen_at:%H:%M:%S}"
            return CircuitCheck(allowed=False, blocked_by="open", detail=detail)
    else:  # half-open: a probe is out; a probe older than the in-flight timeout is considered lost
        stale = timedelta(seconds=settings.SMS_IN_FLIGHT_TIMEOUT_SECONDS)
        if provider.probe_started_at and now - provider.probe_started_at < stale:
            return CircuitCheck(allowed=False, blocked_by="probe_in_flight", detail="one probe in flight")
    if probe_taken:
        return CircuitCheck(allowed=False, blocked_by="probe_in_flight", detail="one probe in flight")
    return CircuitCheck(allowed=True, is_probe=True)


def circuit_probe_start(provider: Provider, *, now: datetime) -> None:
    """A probe goes out: half-open until its answer (on the instance; `circuit_probes_save` writes it)."""
    provider.circuit_state = CircuitState.HALF_OPEN
    provider.probe_started_at = now


def circuit_probes_save(providers: list[Provider]) -> None:
    for provider in providers:
        Provider.objects.filter(pk=provider.pk).update(
            circuit_state=provider.circuit_state, probe_started_at=provider.probe_started_at
        )


@dataclass
class CircuitTally:
    """What the answers of one provider group tell the breaker, counted while they are recorded (in the order the
    provider gave them). It needs no provider row: `circuit_record` applies it to the row, locked at the very end
    of the group's transaction so that concurrent claims wait for it as briefly as possible."""

    answered: bool = False
    failures_since_answer: int = 0  # retryable failures after the last answer (since the group's start if none)
    failed: bool = False  # a retryable failure was counted
    accepted: bool = False
    exhausted: ProviderQuotaExhausted | None = None
    config_error: ProviderConfigError | None = None
    _counted_errors: set[int] = field(default_factory=set)

    def answer(self, *, accepted: bool) -> None:
        """The provider answered (it took the message, or refused this one): the route works."""
        self.answered = True
        self.failures_since_answer = 0
        self.accepted = self.accepted or accepted

    def failure(self, error: ProviderError) -> None:
        """A retryable failure; one failed HTTP call counts once, however many messages it carried."""
        if error.code != NOT_ATTEMPTED_CODE and id(error) not in self._counted_errors:
            self._counted_errors.add(id(error))
            self.failures_since_answer += 1
            self.failed = True

    @property
    def changes_anything(self) -> bool:
        return self.answered or self.failed or self.exhausted is not None or self.config_error is not None


def circuit_record(provider: Provider, tally: CircuitTally, *, now: datetime) -> None:
    """Write the group's effect on the provider row (locked by the caller): open after the threshold, a failed
    probe or a configuration error; closed again by an answer with no failure after it. A "limit reached"
    answer makes the route wait for the next calendar month. The consecutive failures continue the row's count
    unless the provider answered in this group; a failure while the provider was half-open is a failed probe."""
    failures = tally.failures_since_answer + (0 if tally.answered else provider.consecutive_failures)
    probe_failed = tally.failed and provider.circuit_state == CircuitState.HALF_OPEN
    provider.consecutive_failures = failures
    error = tally.config_error or tally.exhausted
    if probe_failed or failures >= settings.SMS_CIRCUIT_FAILURE_THRESHOLD or tally.config_error is not None:
        if provider.circuit_state != CircuitState.OPEN or probe_failed:
            logger.warning("circuit of provider %s opened after %s failures", provider.name, failures)
        provider.circuit_state = CircuitState.OPEN
        provider.circuit_opened_at = now
        provider.probe_started_at = None
    elif tally.answered and failures == 0:
        provider.circuit_state = CircuitState.CLOSED
        provider.circuit_opened_at = None
        provider.probe_started_at = None
    if tally.exhausted is not None:
        provider.exhausted_until = next_month_start(now)
    if tally.accepted:
        provider.last_success_at = now
    if error is not None or failures:
        provider.last_error = (error.message if error is not None else "retryable failures")[:1000]
        provider.last_error_at = now
    provider.save(
        update_fields=[
            "consecutive_failures",
            "circuit_state",
            "circuit_opened_at",
            "probe_started_at",
            "exhausted_until",
            "last_success_at",
            "last_error",
            "last_error_at",
            "updated_at",
        ]
    )


def circuit_reset(provider: Provider) -> None:
    """Staff: close the circuit and forget a "limit reached" answer (e.g. after a top-up); the caller saves."""
    provider.circuit_state = CircuitState.CLOSED
    provider.consecutive_failures = 0
    provider.circuit_opened_at = None
    provider.probe_started_at = None
    provider.exhausted_until = None
