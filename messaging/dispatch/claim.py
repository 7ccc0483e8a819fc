"""Step 1 of a dispatch round: claim due queued messages, route them, reserve quota and write in-flight attempts,
all in one transaction that commits before any provider is called (see `messaging.dispatch`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F

from accounts.models import OrganizationStatus
from messaging.dispatch.batch import NOT_ATTEMPTED_CODE, DispatchGroup
from messaging.dispatch.route_batch import BatchRouter
from messaging.dispatch.timing import retry_delay, send_deadline
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.status import message_finalize, status_set
from messaging.services.webhooks import webhook_events_record
from portal import hooks

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


def messages_claim(*, now: datetime, limit: int) -> list[DispatchGroup]:
    """Claim up to `limit` due messages; returns them grouped by the provider each was routed to. Committed when
    this returns: from here a crash cannot lose the fact that a message may be at a provider."""
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
        router = BatchRouter(now=now)
        failed_for = _providers_that_failed(messages)
        batch_id = uuid.uuid4()
        attempts: list[DispatchAttempt] = []
        changed_for_webhook: list[Message] = []

        # Checked again here: a scheduled or retried message may have been accepted before its recipient opted out.
        opted_out = _opted_out(messages)
        for message in messages:
            if (message.organization_id, message.recipient) in opted_out:
                message_finalize(
                    message,
                    MessageStatus.REJECTED,
                    now=now,
                    error_code="recipient_opted_out",
                    error_message="The recipient asked not to receive messages after this one was accepted; "
                    "not sent, refunded.",
                )
                changed_for_webhook.append(message)
                continue
            if send_deadline(message) <= now:
                message_finalize(
                    message,
                    MessageStatus.FAILED,
                    now=now,
                    error_code="send_deadline_passed",
                    error_message="Could not be sent in time; refunded.",
                )
                changed_for_webhook.append(message)
                continue
            decision = router.route(message, failed_provider_ids=frozenset(failed_for.get(message.pk, ())))
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
                next_at = now + retry_delay(message.attempts)
                if next_at >= send_deadline(message):
                    message_finalize(
                        message,
                        MessageStatus.FAILED,
                        now=now,
                        error_code="no_route",
                        error_message=f"No provider could take it: {reasons}",
                    )
                    changed_for_webhook.append(message)
                else:
                    message.next_attempt_at = next_at
                    message.error_code, message.error_message = "no_route", f"Waiting for a route: {reasons}"
                continue
            provider = decision.provider
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
            router.assign(attempt, message, decision)

        DispatchAttempt.objects.bulk_create(attempts, batch_size=1000)
        # Routed messages all change alike: one UPDATE (bulk_update's CASE per row is slow at 1,000 rows).
        routed_ids = router.routed_message_ids()
        if routed_ids:
            Message.objects.filter(id__in=routed_ids).update(
                status=MessageStatus.SENDING, status_changed_at=now, attempts=F("attempts") + 1
            )
        waiting = [m for m in messages if m.status != MessageStatus.SENDING]
        if waiting:
            Message.objects.bulk_update(waiting, _MESSAGE_CLAIM_FIELDS, batch_size=500)
        router.finish()
        webhook_events_record(messages=changed_for_webhook)
        return router.dispatch_groups()


def _providers_that_failed(messages: list[Message]) -> dict[int, set[int]]:
    """Per message, the providers that failed it SMS_MAX_FAILURES_PER_PROVIDER times (routing skips them)."""
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
    return failed_for


def _opted_out(messages: list[Message]) -> set[tuple[int, str]]:
    """(organization id, number) of the messages whose recipient must not be sent to (asked once per
    organization in the batch)."""
    numbers_by_organization: dict[int, set[str]] = defaultdict(set)
    for message in messages:
        numbers_by_organization[message.organization_id].add(message.recipient)
    return {
        (organization_id, number)
        for organization_id, numbers in numbers_by_organization.items()
        for number in hooks.suppressed_numbers(organization_id=organization_id, numbers=numbers)
    }
