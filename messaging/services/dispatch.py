"""The worker: claim queued messages, route them, hand them to providers, record what happened.

One round of `dispatch_queued_messages` has three steps, each with its own transaction boundary:

1. **Claim** (one transaction): lock due queued rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never
   share a row), lock the provider chain and this month's usage rows, choose a route for each message, reserve
   quota, write one `DispatchAttempt` per message with status `in_flight` and the routing decision, set the
   messages to `sending`, and COMMIT. From here a crash cannot lose the fact that a message may be at a provider.
2. **Call** (no transaction, no locks held): one adapter per provider; `send_bulk` where the adapter supports
   bulk, else `send`. Our reference for each hand-over is the attempt's `reference` ("a<attempt id>").
3. **Record** (one transaction per provider group): only attempts still `in_flight` are resolved (the reconcile
   job may have resolved them meanwhile); accepted -> `sent`; refused -> `rejected` and refunded; "limit reached"
   -> provider marked exhausted until next Manila month and message requeued at once (next provider); retryable ->
   requeued with exponential backoff and jitter (failed and refunded past the deadline); the circuit breaker and
   quota reservations are updated.

Crash recovery (`dispatch_reconcile_stale`): an attempt still `in_flight` after `SMS_IN_FLIGHT_TIMEOUT_SECONDS`
belonged to a worker that died between step 1 and step 3. If the adapter can list what the provider accepted
(`supports_sent_lookup` / `find_sent`, e.g. Semaphore's message list), the provider's answer decides: a listed
message to that number with that text that no attempt of ours is recorded for -> it arrived, and is recorded as
accepted (never sent again); none -> the attempt is `abandoned` and the message requeued. If the provider cannot be
asked (IPROG has no such list), the engine does NOT resend (a duplicate SMS cannot be called back, and the customer
was charged once): the attempt becomes `unknown`, the message stays `sending` with error_code
`dispatch_outcome_unknown`, staff are alerted and decide in admin (`dispatch_attempt_resolve`: mark sent / resend /
fail and refund). Its quota reservation is kept until then (it may have been used).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone

from billing import services as billing_services
from accounts.models import OrganizationStatus
from accounts.services import audit_log_record
from messaging.models import (
    AttemptStatus,
    CircuitState,
    DispatchAttempt,
    Message,
    MessageStatus,
    Provider,
    ProviderMonthlyUsage,
)
from messaging.providers.base import (
    DeliveryState,
    OutboundSMS,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    ProviderRateLimited,
    ProviderRejected,
    SendResult,
)
from messaging.routing import RouteState, choose_route, month_start, next_month_start, primary_of
from messaging.services.db import lock_rows
from messaging.services.notices import fallback_notice_publish, fallback_notice_withdraw
from messaging.services.providers import provider_adapter_build
from messaging.services.status import status_set
from messaging.services.webhooks import webhook_events_record
from portal.errors import ApplicationError
from privacy.selectors import suppressed_numbers

logger = logging.getLogger(__name__)

NOT_ATTEMPTED_CODE = "not_attempted"


class _NotAttempted(ProviderConnectionError):
    """Left unsent because the provider failed the items before it in this batch (not its own failure)."""

    default_code = NOT_ATTEMPTED_CODE


class _NeverReceived(ProviderError):
    """Reconcile: the provider confirms it never received this hand-over."""

    default_code = "never_received"


@dataclass
class DispatchGroup:
    provider: Provider
    items: list[tuple[DispatchAttempt, Message]]
    month: object


@dataclass
class DispatchSummary:
    rounds: int = 0
    claimed: int = 0
    accepted: int = 0
    requeued: int = 0
    rejected: int = 0
    failed: int = 0
    no_route: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)


def _retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base * 2^(attempts-1), capped, times a random factor in [0.5, 1]."""
    delay = min(settings.SMS_RETRY_MAX_SECONDS, settings.SMS_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def _deadline(message: Message) -> datetime:
    return (message.send_at or message.created_at) + timedelta(seconds=settings.SMS_SEND_DEADLINE_SECONDS)


def _fail(message: Message, *, now: datetime, code: str, text: str) -> None:
    status_set(message, MessageStatus.FAILED, now=now, error_code=code, error_message=text)
    if message.price:
        billing_services.message_refund(organization=message.organization, message_id=message.pk, reason=code)


def _usage_rows(providers: list[Provider], month) -> dict[int, int]:
    ProviderMonthlyUsage.objects.bulk_create(
        [ProviderMonthlyUsage(provider=p, month=month, messages=0) for p in providers], ignore_conflicts=True
    )
    rows = ProviderMonthlyUsage.objects.select_for_update().filter(provider__in=providers, month=month)
    return {row.provider_id: row.messages for row in rows}


def _adjust_usage(provider_id: int, month, delta: int) -> None:
    if delta > 0:
        ProviderMonthlyUsage.objects.filter(provider_id=provider_id, month=month).update(messages=F("messages") + delta)
    elif delta < 0:
        ProviderMonthlyUsage.objects.filter(provider_id=provider_id, month=month, messages__gte=-delta).update(
            messages=F("messages") + delta
        )


def _reject_opted_out(message: Message, *, now: datetime) -> None:
    status_set(
        message,
        MessageStatus.REJECTED,
        now=now,
        error_code="recipient_opted_out",
        error_message="The recipient asked not to receive messages after this one was accepted; not sent, refunded.",
    )
    if message.price:
        billing_services.message_refund(
            organization=message.organization, message_id=message.pk, reason="recipient_opted_out"
        )


_MESSAGE_CLAIM_FIELDS = [
    "status",
    "status_changed_at",
    "rejected_at",
    "attempts",
    "next_attempt_at",
    "error_code",
    "error_message",
    "failed_at",
]


def _claim(*, now: datetime, limit: int) -> list[DispatchGroup]:
    """Step 1: claim, route, reserve quota, write in-flight attempts; committed when this returns."""
    with transaction.atomic():
        # A suspended or closed organization's messages wait (and run into their deadline, refunded) instead of
        # going out: suspension stops sending, not only accepting.
        queryset = Message.objects.filter(
            status=MessageStatus.QUEUED, next_attempt_at__lte=now, organization__status=OrganizationStatus.ACTIVE
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        messages = list(queryset.select_related("organization")[:limit])
        if not messages:
            return []
        providers = list(Provider.objects.select_for_update().order_by("priority", "id"))
        month = month_start(now)
        usage = _usage_rows(providers, month)
        chain = [RouteState(provider=p, used_this_month=usage.get(p.pk, 0)) for p in providers]
        states = {state.provider.pk: state for state in chain}
        used_before = {pk: state.used_this_month for pk, state in states.items()}
        primary = primary_of(chain)

        failed_pairs = (
            DispatchAttempt.objects.filter(message__in=[m.pk for m in messages], status=AttemptStatus.RETRYABLE_ERROR)
            .exclude(error_code=NOT_ATTEMPTED_CODE)
            .values("message_id", "provider_id")
            .annotate(failures=Count("id"))
            .filter(failures__gte=settings.SMS_MAX_FAILURES_PER_PROVIDER)
        )
        failed_for: dict[int, set[int]] = defaultdict(set)
        for row in failed_pairs:
            failed_for[row["message_id"]].add(row["provider_id"])

        batch_id = uuid.uuid4()
        attempts: list[DispatchAttempt] = []
        groups: dict[int, list[tuple[DispatchAttempt, Message]]] = defaultdict(list)
        changed_for_webhook: list[Message] = []
        probed: set[int] = set()
        fallback = None  # (skip of the primary, provider used instead)
        primary_took_traffic = False

        # Checked again here: a scheduled or retried message may have been accepted before its recipient opted out.
        opted_out = suppressed_numbers(phone_numbers={m.recipient for m in messages})
        for message in messages:
            if message.recipient in opted_out:
                _reject_opted_out(message, now=now)
                changed_for_webhook.append(message)
                continue
            if _deadline(message) <= now:
                _fail(message, now=now, code="send_deadline_passed", text="Could not be sent in time; refunded.")
                changed_for_webhook.append(message)
                continue
            decision = choose_route(
                chain=chain,
                network=message.network,
                now=now,
                failed_provider_ids=frozenset(failed_for.get(message.pk, ())),
            )
            message.attempts += 1
            skipped = [skip.as_dict() for skip in decision.skipped]
            if decision.state is None:
                reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped) or "no provider configured"
                attempts.append(
                    DispatchAttempt(
                        message=message,
                        attempt_number=message.attempts,
                        status=AttemptStatus.NO_ROUTE,
                        reason=decision.reason,
                        skipped=skipped,
                        batch_id=batch_id,
                        started_at=now,
                        finished_at=now,
                        error_code="no_route",
                        error_message=reasons,
                    )
                )
                next_at = now + _retry_delay(message.attempts)
                if next_at >= _deadline(message):
                    _fail(message, now=now, code="no_route", text=f"No provider could take it: {reasons}")
                    changed_for_webhook.append(message)
                else:
                    message.next_attempt_at = next_at
                    message.error_code, message.error_message = "no_route", f"Waiting for a route: {reasons}"
                continue
            state = decision.state
            provider = state.provider
            state.used_this_month += 1
            if decision.is_probe:
                state.probe_taken = True
                provider.circuit_state = CircuitState.HALF_OPEN
                provider.probe_started_at = now
                probed.add(provider.pk)
            attempt = DispatchAttempt(
                message=message,
                provider=provider,
                attempt_number=message.attempts,
                status=AttemptStatus.IN_FLIGHT,
                sender_name=provider.sender_name,
                reason=decision.reason,
                skipped=skipped,
                batch_id=batch_id,
                started_at=now,
            )
            attempts.append(attempt)
            status_set(message, MessageStatus.SENDING, now=now)
            groups[provider.pk].append((attempt, message))
            if primary is not None and provider.pk == primary.pk:
                # A half-open probe does not prove the primary is back: the notice stays until it succeeds.
                primary_took_traffic = primary_took_traffic or not decision.is_probe
            elif primary is not None:
                skip = decision.skipped_primary_for_fallback(primary.pk)
                if skip is not None:
                    fallback = (skip, provider)

        DispatchAttempt.objects.bulk_create(attempts, batch_size=1000)
        # Routed messages all change alike: one UPDATE (bulk_update's CASE per row is slow at 1,000 rows).
        routed_ids = [message.pk for items in groups.values() for _, message in items]
        if routed_ids:
            Message.objects.filter(id__in=routed_ids).update(
                status=MessageStatus.SENDING, status_changed_at=now, attempts=F("attempts") + 1
            )
        waiting = [m for m in messages if m.status != MessageStatus.SENDING]
        if waiting:
            Message.objects.bulk_update(waiting, _MESSAGE_CLAIM_FIELDS, batch_size=500)
        for pk, state in states.items():
            _adjust_usage(pk, month, state.used_this_month - used_before[pk])
        for pk in probed:
            provider = states[pk].provider
            Provider.objects.filter(pk=pk).update(
                circuit_state=provider.circuit_state, probe_started_at=provider.probe_started_at
            )
        if fallback is not None:
            skip, used = fallback
            fallback_notice_publish(primary=primary, fallback=used, reason=skip.reason)
        elif primary_took_traffic:
            fallback_notice_withdraw(primary=primary)
        webhook_events_record(messages=changed_for_webhook)
        return [DispatchGroup(provider=states[pk].provider, items=items, month=month) for pk, items in groups.items()]


def _call(group: DispatchGroup) -> list[SendResult | ProviderError]:
    """Step 2: hand the group to its provider. Never raises a ProviderError: one outcome per item."""
    provider = group.provider
    count = len(group.items)
    try:
        adapter = provider_adapter_build(provider)
    except ProviderError as error:
        return [error] * count
    outcomes: list[SendResult | ProviderError] = []
    with adapter:
        if adapter.supports_bulk and count > 1:
            size = max(1, adapter.max_bulk)
            for start in range(0, count, size):
                chunk = group.items[start : start + size]
                route_error = next(
                    (o for o in outcomes if isinstance(o, ProviderQuotaExhausted | ProviderConfigError)), None
                )
                if route_error is not None:  # the route is closed: do not offer it the rest
                    outcomes.extend([route_error] * len(chunk))
                    continue
                items = [
                    OutboundSMS(recipient=m.recipient, body=m.delivery_body or m.body, reference=a.reference)
                    for a, m in chunk
                ]
                try:
                    results = adapter.send_bulk(items=items)
                    if len(results) != len(items):
                        raise ProviderConnectionError(
                            f"{provider.name} answered {len(results)} outcomes for {len(items)} messages",
                            code="provider_bad_response",
                        )
                except ProviderError as error:
                    results = [error] * len(items)
                except Exception as error:  # a bug in an adapter must not leave the batch in flight
                    logger.exception("adapter %s send_bulk crashed", provider.adapter)
                    results = [ProviderConnectionError(f"adapter error: {error}", code="adapter_error")] * len(items)
                outcomes.extend(results)
        else:
            consecutive_failures = 0
            route_error: ProviderError | None = None
            for attempt, message in group.items:
                if route_error is not None:
                    outcomes.append(route_error)
                    continue
                if consecutive_failures >= settings.SMS_CIRCUIT_FAILURE_THRESHOLD:
                    outcomes.append(_NotAttempted(f"{provider.name} failed the previous messages of this batch"))
                    continue
                try:
                    outcome = adapter.send(
                        recipient=message.recipient,
                        body=message.delivery_body or message.body,
                        reference=attempt.reference,
                    )
                except ProviderError as error:
                    outcome = error
                except Exception as error:
                    logger.exception("adapter %s send crashed", provider.adapter)
                    outcome = ProviderConnectionError(f"adapter error: {error}", code="adapter_error")
                if isinstance(outcome, ProviderQuotaExhausted | ProviderConfigError):
                    route_error = outcome
                consecutive_failures = consecutive_failures + 1 if getattr(outcome, "retryable", False) else 0
                outcomes.append(outcome)
    return outcomes


def _record(group: DispatchGroup, outcomes: list[SendResult | ProviderError], summary: DispatchSummary) -> None:
    """Step 3: write the outcomes of one provider group (skipping attempts that are no longer in flight)."""
    now = timezone.now()
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=group.provider.pk)
        attempt_ids = [attempt.pk for attempt, _ in group.items]
        # In flight, or marked unknown by a reconcile that ran while this (slow) call was still going: the
        # provider's answer settles those too. Abandoned ones were requeued already and are left alone.
        live = set(
            DispatchAttempt.objects.select_for_update()
            .filter(id__in=attempt_ids, status__in=[AttemptStatus.IN_FLIGHT, AttemptStatus.UNKNOWN])
            .filter(message__status=MessageStatus.SENDING)
            .values_list("id", flat=True)
        )
        if not live:
            return
        messages = {
            m.pk: m
            for m in lock_rows(Message.objects)
            .select_related("organization")
            .filter(id__in=[message.pk for _, message in group.items])
        }
        changed_attempts, changed_messages, webhook_messages = [], [], []
        released = 0
        exhausted: ProviderQuotaExhausted | None = None
        config_error: ProviderConfigError | None = None
        accepted_ids: list[str] = []
        failures = provider.consecutive_failures
        probe_failed = False
        answered = False
        counted_errors: set[int] = set()

        for (attempt, _), outcome in zip(group.items, outcomes, strict=True):
            if attempt.pk not in live:
                continue
            message = messages[attempt.message_id]
            message.provider = provider  # for the webhook payload; saved only when accepted
            attempt.finished_at = now
            changed_attempts.append(attempt)
            changed_messages.append(message)
            if isinstance(outcome, SendResult):
                answered = True
                failures = 0
                attempt.status = AttemptStatus.ACCEPTED
                attempt.provider_message_id = outcome.provider_message_id
                message.provider_message_id = outcome.provider_message_id
                message.sender_name = provider.sender_name
                message.error_code, message.error_message = "", ""
                new_status = MessageStatus.DELIVERED if outcome.state == DeliveryState.DELIVERED else MessageStatus.SENT
                status_set(message, new_status, now=now)
                accepted_ids.append(outcome.provider_message_id)
                webhook_messages.append(message)
                summary.accepted += 1
                summary.by_provider[provider.name] = summary.by_provider.get(provider.name, 0) + 1
                continue
            message.provider = None
            released += 1
            attempt.error_code = (outcome.code or "")[:60]
            attempt.error_message = outcome.message
            if isinstance(outcome, _NeverReceived):
                attempt.status = AttemptStatus.ABANDONED
                _requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            elif isinstance(outcome, ProviderRejected):
                answered = True
                failures = 0
                attempt.status = AttemptStatus.REJECTED
                status_set(
                    message,
                    MessageStatus.REJECTED,
                    now=now,
                    error_code=outcome.code,
                    error_message=outcome.message,
                )
                if message.price:
                    billing_services.message_refund(
                        organization=message.organization, message_id=message.pk, reason="provider_rejected"
                    )
                webhook_messages.append(message)
                summary.rejected += 1
            elif isinstance(outcome, ProviderQuotaExhausted):
                exhausted = outcome
                attempt.status = AttemptStatus.ROUTE_EXHAUSTED
                _requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            elif isinstance(outcome, ProviderConfigError):
                config_error = outcome
                attempt.status = AttemptStatus.CONFIG_ERROR
                _requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            else:  # retryable (connection, 5xx, timeout, throttled) or an unclassified ProviderError
                attempt.status = AttemptStatus.RETRYABLE_ERROR
                # One failed HTTP call is one failure, however many messages its bulk request carried.
                if outcome.code != NOT_ATTEMPTED_CODE and id(outcome) not in counted_errors:
                    counted_errors.add(id(outcome))
                    failures += 1
                    probe_failed = probe_failed or provider.circuit_state == CircuitState.HALF_OPEN
                delay = _retry_delay(message.attempts)
                if isinstance(outcome, ProviderRateLimited) and outcome.retry_after:
                    delay = max(delay, timedelta(seconds=outcome.retry_after))
                if now + delay >= _deadline(message):
                    _fail(
                        message,
                        now=now,
                        code=outcome.code,
                        text=f"Gave up at the deadline: {outcome.message}",
                    )
                    webhook_messages.append(message)
                    summary.failed += 1
                else:
                    _requeue(message, now=now, at=now + delay, code=outcome.code, text=outcome.message)
                    summary.requeued += 1

        _write_outcomes(provider, changed_attempts, changed_messages, now=now)
        _adjust_usage(provider.pk, group.month, -released)
        _update_health(
            provider,
            now=now,
            failures=failures,
            answered=answered,
            probe_failed=probe_failed,
            exhausted=exhausted,
            config_error=config_error,
            accepted=bool(accepted_ids),
        )
        webhook_events_record(messages=webhook_messages)
        if accepted_ids:
            from messaging.services.delivery import delivery_receipts_apply_pending

            delivery_receipts_apply_pending(provider=provider, provider_message_ids=accepted_ids)


_OUTCOME_MESSAGE_FIELDS = [
    "status",
    "status_changed_at",
    "provider",
    "provider_message_id",
    "sender_name",
    "error_code",
    "error_message",
    "next_attempt_at",
    "sent_at",
    "delivered_at",
    "failed_at",
    "rejected_at",
]


def _write_outcomes(
    provider: Provider, attempts: list[DispatchAttempt], messages: list[Message], *, now: datetime
) -> None:
    """Write recorded outcomes. Messages the provider accepted are the bulk of a batch and change alike
    (status sent, this route, its sender name), so they take plain UPDATEs; only their provider ids differ,
    copied from their attempts by a correlated subquery. The rest (errors, rejections) use bulk_update."""
    accepted = [
        (attempt, message)
        for attempt, message in zip(attempts, messages, strict=True)
        if attempt.status == AttemptStatus.ACCEPTED and message.status == MessageStatus.SENT
    ]
    accepted_attempt_ids = {attempt.pk for attempt, _ in accepted}
    if accepted:
        DispatchAttempt.objects.bulk_update([a for a, _ in accepted], ["provider_message_id"], batch_size=1000)
        DispatchAttempt.objects.filter(id__in=accepted_attempt_ids).update(
            status=AttemptStatus.ACCEPTED, finished_at=now
        )
        provider_id = DispatchAttempt.objects.filter(message_id=OuterRef("pk"), status=AttemptStatus.ACCEPTED).order_by(
            "-id"
        )
        Message.objects.filter(id__in=[m.pk for _, m in accepted]).update(
            status=MessageStatus.SENT,
            status_changed_at=now,
            sent_at=now,
            provider=provider,
            sender_name=provider.sender_name,
            provider_message_id=Subquery(provider_id.values("provider_message_id")[:1]),
            error_code="",
            error_message="",
        )
    other_attempts = [a for a in attempts if a.pk not in accepted_attempt_ids]
    accepted_message_ids = {m.pk for _, m in accepted}
    other_messages = [m for m in messages if m.pk not in accepted_message_ids]
    if other_attempts:
        DispatchAttempt.objects.bulk_update(
            other_attempts, ["status", "provider_message_id", "error_code", "error_message", "finished_at"]
        )
    if other_messages:
        Message.objects.bulk_update(other_messages, _OUTCOME_MESSAGE_FIELDS, batch_size=500)


def _requeue(message: Message, *, now: datetime, at: datetime, code: str, text: str) -> None:
    status_set(message, MessageStatus.QUEUED, now=now, error_code=code, error_message=text)
    message.next_attempt_at = at


def _update_health(
    provider: Provider,
    *,
    now: datetime,
    failures: int,
    answered: bool,
    probe_failed: bool,
    exhausted: ProviderQuotaExhausted | None,
    config_error: ProviderConfigError | None,
    accepted: bool,
) -> None:
    """Circuit breaker: open after SMS_CIRCUIT_FAILURE_THRESHOLD consecutive retryable failures (or a failed
    half-open probe, or a configuration error); closed again by any answer from the provider."""
    provider.consecutive_failures = failures
    error = config_error or exhausted
    if probe_failed or failures >= settings.SMS_CIRCUIT_FAILURE_THRESHOLD or config_error is not None:
        if provider.circuit_state != CircuitState.OPEN or probe_failed:
            logger.warning("circuit of provider %s opened after %s failures", provider.name, failures)
        provider.circuit_state = CircuitState.OPEN
        provider.circuit_opened_at = now
        provider.probe_started_at = None
    elif answered and failures == 0:
        provider.circuit_state = CircuitState.CLOSED
        provider.circuit_opened_at = None
        provider.probe_started_at = None
    if exhausted is not None:
        provider.exhausted_until = next_month_start(now)
    if accepted:
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


def dispatch_queued_messages(
    *, now: datetime | None = None, batch_size: int | None = None, max_rounds: int = 50
) -> DispatchSummary:
    """Dispatch every due queued message (several rounds: a message requeued for the next provider goes out in
    the same call). Safe to run from several workers at once. `now` is for tests (due-ness and deadlines)."""
    summary = DispatchSummary()
    limit = batch_size or settings.SMS_DISPATCH_BATCH_SIZE
    for _ in range(max_rounds):
        groups = _claim(now=now or timezone.now(), limit=limit)
        if not groups:
            break
        summary.rounds += 1
        for group in groups:
            summary.claimed += len(group.items)
            outcomes = _call(group)
            _record(group, outcomes, summary)
    return summary


# --- crash recovery ---


@dataclass
class ReconcileSummary:
    checked: int = 0
    accepted: int = 0
    requeued: int = 0
    unknown: int = 0


def dispatch_reconcile_stale(*, now: datetime | None = None) -> ReconcileSummary:
    """Resolve attempts left `in_flight` by a worker that died (see the module docstring for the policy)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SMS_IN_FLIGHT_TIMEOUT_SECONDS)
    stale = list(
        DispatchAttempt.objects.filter(status=AttemptStatus.IN_FLIGHT, started_at__lt=cutoff)
        .select_related("provider", "message")
        .order_by("id")[:1000]
    )
    summary = ReconcileSummary(checked=len(stale))
    by_provider: dict[int, list[DispatchAttempt]] = defaultdict(list)
    for attempt in stale:
        by_provider[attempt.provider_id].append(attempt)
    unknown: list[DispatchAttempt] = []
    for attempts in by_provider.values():
        provider = attempts[0].provider
        try:
            adapter = provider_adapter_build(provider)
        except ProviderError:
            adapter = None
        if adapter is None or not adapter.supports_sent_lookup:
            unknown.extend(attempts)
            continue
        items, outcomes = [], []
        claimed: set[str] = set()
        with adapter:
            for attempt in attempts:
                message = attempt.message
                try:
                    candidates = adapter.find_sent(
                        recipient=message.recipient,
                        body=message.delivery_body or message.body,
                        since=attempt.started_at,
                    )
                except ProviderError:
                    continue  # cannot ask now: left in flight, asked again next run
                found = _unclaimed(provider, candidates, claimed)
                items.append((attempt, message))
                if found is None:
                    outcomes.append(_NeverReceived("the provider has no record of this hand-over; sent again"))
                    summary.requeued += 1
                else:
                    claimed.add(found.provider_message_id)
                    outcomes.append(replace(found, reference=attempt.reference))
                    summary.accepted += 1
        if items:
            month = month_start(attempts[0].started_at)
            _record(DispatchGroup(provider=provider, items=items, month=month), outcomes, DispatchSummary())
    if unknown:
        summary.unknown = _mark_unknown(unknown, now=now)
    return summary


def _unclaimed(provider: Provider, candidates: list[SendResult], claimed: set[str]) -> SendResult | None:
    """The oldest message the provider lists that no attempt of ours is known for yet: the same text to the same
    number may have been sent before (a reminder, a retry that went through), and those are already recorded.
    This relies on the provider account being used by this portal only."""
    ids = [c.provider_message_id for c in candidates]
    known = set(
        DispatchAttempt.objects.filter(provider=provider, provider_message_id__in=ids).values_list(
            "provider_message_id", flat=True
        )
    )
    for candidate in candidates:
        if candidate.provider_message_id not in known and candidate.provider_message_id not in claimed:
            return candidate
    return None


def _mark_unknown(attempts: list[DispatchAttempt], *, now: datetime) -> int:
    with transaction.atomic():
        ids = list(
            DispatchAttempt.objects.select_for_update()
            .filter(id__in=[a.pk for a in attempts], status=AttemptStatus.IN_FLIGHT)
            .values_list("id", flat=True)
        )
        DispatchAttempt.objects.filter(id__in=ids).update(
            status=AttemptStatus.UNKNOWN,
            finished_at=now,
            error_code="dispatch_outcome_unknown",
            error_message="The worker stopped during the provider call; the provider cannot be asked.",
        )
        Message.objects.filter(dispatch_attempts__id__in=ids, status=MessageStatus.SENDING).update(
            error_code="dispatch_outcome_unknown",
            error_message="Handed to the provider when a worker stopped; waiting for a staff decision.",
        )
    if ids:
        logger.error("%s dispatch attempts have an unknown outcome and need a staff decision", len(ids))
        subject = f"[SMS portal] {len(ids)} messages need a send decision"
        text = (
            "A worker stopped while handing messages to a provider that cannot be asked whether it got "
            "them.\n"
            "Admin > Messaging > Dispatch attempts, filter status 'Outcome unknown': mark sent, resend "
            "or fail."
        )
        try:
            send_mail(subject, text, None, settings.OPS_ALERT_EMAILS, fail_silently=True)
        except Exception:  # an alert must never break recovery
            mail_admins(subject, text, fail_silently=True)
    return len(ids)


class AttemptDecision:
    MARK_SENT = "mark_sent"
    RESEND = "resend"
    FAIL = "fail"
    choices = (MARK_SENT, RESEND, FAIL)


@transaction.atomic
def dispatch_attempt_resolve(*, attempt_id: int, decision: str, actor=None) -> DispatchAttempt:
    """Staff decision for an attempt whose outcome is unknown: `mark_sent` (the provider got it), `resend` (it did
    not: requeue now) or `fail` (give up and refund)."""
    if decision not in AttemptDecision.choices:
        raise ApplicationError(f"Unknown decision {decision!r}.", code="invalid_decision")
    attempt = lock_rows(DispatchAttempt.objects).select_related("provider").filter(pk=attempt_id).first()
    if attempt is None or attempt.status != AttemptStatus.UNKNOWN:
        raise ApplicationError("Only attempts with an unknown outcome can be resolved.", code="not_unknown")
    message = lock_rows(Message.objects).select_related("organization").get(pk=attempt.message_id)
    now = timezone.now()
    if message.status == MessageStatus.SENDING:
        if decision == AttemptDecision.MARK_SENT:
            message.provider = attempt.provider
            message.sender_name = attempt.provider.sender_name if attempt.provider else message.sender_name
            status_set(message, MessageStatus.SENT, now=now, error_code="", error_message="")
        elif decision == AttemptDecision.RESEND:
            _requeue(message, now=now, at=now, code="resent_by_staff", text="Resent after a staff decision.")
            if attempt.provider_id:
                _adjust_usage(attempt.provider_id, month_start(attempt.started_at), -1)
        else:
            _fail(
                message,
                now=now,
                code="dispatch_outcome_unknown",
                text="Given up after a worker stop; refunded.",
            )
        message.save()
        webhook_events_record(messages=[message])
    attempt.status = AttemptStatus.ACCEPTED if decision == AttemptDecision.MARK_SENT else AttemptStatus.ABANDONED
    attempt.error_message = f"{attempt.error_message} Staff decision: {decision}."
    attempt.save(update_fields=["status", "error_message"])
    audit_log_record(
        event_type="dispatch.attempt_resolved",
        organization=message.organization,
        actor=actor,
        target=attempt,
        extra={"decision": decision, "message": message.pk},
    )
    if decision == AttemptDecision.RESEND:
        from messaging.tasks import dispatch_queued

        transaction.on_commit(dispatch_queued.enqueue)
    return attempt
