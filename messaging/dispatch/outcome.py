"""Step 3 of a dispatch round: record what the provider answered for one group, in one transaction.

Only attempts still in flight (or marked unknown by a reconcile that ran during a slow call) are resolved; the
reconcile job may have settled the others meanwhile:
- accepted -> `sent` (or `delivered` when the provider says so at once), receipts that arrived early applied;
- refused -> `rejected`, refunded;
- "limit reached" -> the provider waits for next month (circuit breaker) and the message is requeued at once, for
  the next provider;
- a configuration error -> the circuit opens and the message is requeued at once;
- an answer retrying on this provider cannot fix (unreadable, ambiguous) -> the attempt is `failed`, final for
  this route and this message, and the message is requeued at once for the next provider;
- transient (timeout, 5xx, throttled) -> requeued with exponential backoff and jitter, or failed and refunded past
  the send deadline; no provider is excluded for it: the next claim routes it again (the same provider once its
  circuit is closed, the next one while it is open);
- never received (reconcile asked the provider) -> the attempt is abandoned and the message requeued at once.
A message that did not go out gives its quota reservation back; the circuit breaker counts the answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from messaging.dispatch import bulk_sql
from messaging.dispatch.batch import DispatchGroup, DispatchSummary, NeverReceived
from messaging.dispatch.circuit_breaker import CircuitTally, circuit_record
from messaging.dispatch.provider_call import Outcome
from messaging.dispatch.quota import usage_adjust
from messaging.dispatch.timing import retry_delay, send_deadline
from messaging.models import AttemptStatus, DeliveryReceipt, DispatchAttempt, Message, MessageStatus, Provider
from messaging.providers.base import (
    DeliveryState,
    ProviderConfigError,
    ProviderQuotaExhausted,
    ProviderRateLimited,
    ProviderRejected,
    SendResult,
)
from messaging.services import daily_counts
from messaging.services.db import lock_rows
from messaging.services.delivery import delivery_receipts_apply_pending
from messaging.services.status import message_finalize, status_set, statuses_set
from messaging.services.webhooks import webhook_events_record

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


def message_requeue(message: Message, *, now: datetime, at: datetime, code: str, text: str) -> None:
    """Back to the queue, due at `at`, with the reason (on the instance; the caller saves)."""
    status_set(message, MessageStatus.QUEUED, now=now, error_code=code, error_message=text)
    message.next_attempt_at = at


def outcomes_record(group: DispatchGroup, outcomes: list[Outcome], summary: DispatchSummary) -> None:
    """Write the outcomes of one provider group (one per item, in order), skipping attempts no longer in flight.

    On PostgreSQL the accepted hand-overs (the bulk of a batch) are written by two statements
    (`bulk_sql.accepted_record`); every other outcome, and everything on other databases, goes through the ORM
    below. The provider's row (circuit breaker) and its usage row are written last, so a concurrent claim, which
    locks them too, waits only for the end of this transaction."""
    now = timezone.now()
    provider = group.provider  # as claimed: its name and sender name; its health row is locked at the end
    items = list(zip(group.items, outcomes, strict=True))
    in_sql = bulk_sql.available()
    # The daily counts are written as the block ends: the last rows this transaction locks.
    with transaction.atomic(), daily_counts.counts_collected():
        accepted_live: set[int] = set()
        if in_sql:
            rows = [
                bulk_sql.AcceptedRow(
                    attempt_id=attempt.pk,
                    message_id=message.pk,
                    provider_message_id=outcome.provider_message_id,
                    delivered=outcome.state == DeliveryState.DELIVERED,
                )
                for (attempt, message), outcome in items
                if isinstance(outcome, SendResult)
            ]
            accepted_live = bulk_sql.accepted_record(
                rows=rows, provider_id=provider.pk, sender_name=group.wire_sender_name, now=now
            )
        orm_items = [item for item in items if not (in_sql and isinstance(item[1], SendResult))]
        live = _lock_live([attempt.pk for (attempt, _), _ in orm_items])
        if not live and not accepted_live:
            return
        messages = {
            m.pk: m
            for m in lock_rows(Message.objects.unscoped())  # the worker records every organization's outcomes
            .select_related("organization")
            .filter(id__in=[message.pk for (attempt, message), _ in orm_items if attempt.pk in live])
        }
        changed_attempts, changed_messages, webhook_messages = [], [], []
        released = 0
        tally = CircuitTally()
        accepted_ids: list[str] = []
        accepted: dict[bool, list[Message]] = {False: [], True: []}  # delivered at once?

        for (attempt, claimed_message), outcome in items:
            if attempt.pk in accepted_live:  # written by accepted_record: the claimed instance is brought level
                message = claimed_message
            elif attempt.pk in live:
                message = messages[attempt.message_id]
                changed_attempts.append(attempt)
                changed_messages.append(message)
            else:
                continue
            message.provider = provider  # for the webhook payload; saved only when accepted
            attempt.finished_at = now
            if isinstance(outcome, SendResult):
                tally.answer(accepted=True)
                attempt.status = AttemptStatus.ACCEPTED
                attempt.provider_message_id = outcome.provider_message_id
                message.provider_message_id = outcome.provider_message_id
                message.sender_name = group.wire_sender_name
                message.error_code, message.error_message = "", ""
                # Set with the batch's other accepted messages after this loop (one pass for the daily counts).
                accepted[outcome.state == DeliveryState.DELIVERED].append(message)
                accepted_ids.append(outcome.provider_message_id)
                webhook_messages.append(message)
                summary.accepted += 1
                summary.by_provider[provider.name] = summary.by_provider.get(provider.name, 0) + 1
                continue
            message.provider = None
            released += 1
            attempt.error_code = (outcome.code or "")[:60]
            attempt.error_message = outcome.message
            if isinstance(outcome, NeverReceived):
                attempt.status = AttemptStatus.ABANDONED
                message_requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            elif isinstance(outcome, ProviderRejected):
                tally.answer(accepted=False)
                attempt.status = AttemptStatus.REJECTED
                message_finalize(
                    message,
                    MessageStatus.REJECTED,
                    now=now,
                    error_code=outcome.code,
                    error_message=outcome.message,
                    refund_reason="provider_rejected",
                )
                webhook_messages.append(message)
                summary.rejected += 1
            elif isinstance(outcome, ProviderQuotaExhausted):
                tally.exhausted = outcome
                attempt.status = AttemptStatus.ROUTE_EXHAUSTED
                message_requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            elif isinstance(outcome, ProviderConfigError):
                tally.config_error = outcome
                attempt.status = AttemptStatus.CONFIG_ERROR
                message_requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            elif not outcome.retryable:
                # An answer retrying on this provider cannot fix (unreadable, ambiguous): final for this route and
                # this message, which goes to the next provider at once (`failed_for_this_message`).
                tally.answer(accepted=False)
                attempt.status = AttemptStatus.FAILED
                message_requeue(message, now=now, at=now, code=outcome.code, text=outcome.message)
                summary.requeued += 1
            else:  # transient (connection, 5xx, timeout, throttled): back off, then routed again
                attempt.status = AttemptStatus.RETRYABLE_ERROR
                tally.failure(outcome)
                delay = retry_delay(message.attempts)
                if isinstance(outcome, ProviderRateLimited) and outcome.retry_after:
                    delay = max(delay, timedelta(seconds=outcome.retry_after))
                if now + delay >= send_deadline(message):
                    message_finalize(
                        message,
                        MessageStatus.FAILED,
                        now=now,
                        error_code=outcome.code,
                        error_message=f"Gave up at the deadline: {outcome.message}",
                    )
                    webhook_messages.append(message)
                    summary.failed += 1
                else:
                    message_requeue(message, now=now, at=now + delay, code=outcome.code, text=outcome.message)
                    summary.requeued += 1

        statuses_set(accepted[False], MessageStatus.SENT, now=now)
        statuses_set(accepted[True], MessageStatus.DELIVERED, now=now)
        _write(provider, changed_attempts, changed_messages, now=now, sender_name=group.wire_sender_name)
        webhook_events_record(messages=webhook_messages)
        if accepted_ids and _receipts_waiting(provider):
            delivery_receipts_apply_pending(provider=provider, provider_message_ids=accepted_ids)
        # Last, the rows concurrent claims lock too: this month's usage and the provider's health.
        usage_adjust(provider.pk, group.month, -released)
        circuit_record(Provider.objects.select_for_update(no_key=True).get(pk=provider.pk), tally, now=now)


def _receipts_waiting(provider: Provider) -> bool:
    """Whether any receipt of this provider waits for its message (it came before the worker wrote the provider's
    id). Almost never: asking costs a look at the few unmatched receipts (`receipt_unmatched_idx`), where looking
    up the batch's thousand provider ids costs a thousand index probes."""
    return DeliveryReceipt.objects.filter(provider=provider, message__isnull=True).exists()


def _lock_live(attempt_ids: list[int]) -> set[int]:
    """Of these attempts, lock and return those still to be settled: in flight, or marked unknown by a reconcile
    that ran while this (slow) call was still going (the provider's answer settles those too), with the message
    still sending. Abandoned ones were requeued already and are left alone."""
    if not attempt_ids:
        return set()
    return set(
        DispatchAttempt.objects.select_for_update()
        .filter(id__in=attempt_ids, status__in=[AttemptStatus.IN_FLIGHT, AttemptStatus.UNKNOWN])
        .filter(message__status=MessageStatus.SENDING)
        .values_list("id", flat=True)
    )


def _write(
    provider: Provider, attempts: list[DispatchAttempt], messages: list[Message], *, now: datetime, sender_name: str
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
        Message.objects.unscoped().filter(id__in=[m.pk for _, m in accepted]).update(
            status=MessageStatus.SENT,
            status_changed_at=now,
            sent_at=now,
            provider=provider,
            sender_name=sender_name,
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
        Message.objects.unscoped().bulk_update(other_messages, _OUTCOME_MESSAGE_FIELDS, batch_size=500)
