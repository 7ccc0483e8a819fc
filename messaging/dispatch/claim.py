"""Step 1 of a dispatch round: claim due queued messages, route them, reserve quota and write in-flight attempts,
all in one transaction that commits before any provider is called (see `messaging.dispatch`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from accounts.models import OrganizationStatus
from messaging.dispatch.batch import DispatchGroup
from messaging.dispatch.route_batch import BatchRouter
from messaging.dispatch.timing import retry_delay, send_deadline
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.status import message_finalize, status_set
from messaging.services.webhooks import webhook_events_record
from portal import hooks

# Attempts that mean "this provider will not take this message": it refused it, or answered in a way retrying on
# it cannot fix.
FINAL_FOR_ROUTE_STATUSES = [AttemptStatus.REJECTED, AttemptStatus.FAILED]

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
        queryset = (
            Message.objects.unscoped()
            .filter(  # the worker serves every organization
                status=MessageStatus.QUEUED, next_attempt_at__lte=now, organization__status=OrganizationStatus.ACTIVE
            )
            .order_by("next_attempt_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        messages = list(queryset.select_related("organization")[:limit])
        if not messages:
            return []
        router = BatchRouter(now=now)
        excluded = _providers_excluded(messages)
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
            decision = router.route(message, failed_provider_ids=frozenset(excluded.get(message.pk, ())))
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
            Message.objects.unscoped().filter(id__in=routed_ids).update(
                status=MessageStatus.SENDING, status_changed_at=now, attempts=F("attempts") + 1
            )
        waiting = [m for m in messages if m.status != MessageStatus.SENDING]
        if waiting:
            Message.objects.unscoped().bulk_update(waiting, _MESSAGE_CLAIM_FIELDS, batch_size=500)
        router.finish()
        webhook_events_record(messages=changed_for_webhook)
        return router.dispatch_groups()


def _providers_excluded(messages: list[Message]) -> dict[int, set[int]]:
    """Per message, the providers that gave a final answer about it (routing skips them for it). Transient errors
    exclude nobody: the message is routed again, to the same provider once it is healthy. Only messages tried
    before can have such an answer, so a first attempt costs no query."""
    tried = [m.pk for m in messages if m.attempts]
    if not tried:
        return {}
    pairs = (
        DispatchAttempt.objects.filter(message__in=tried, status__in=FINAL_FOR_ROUTE_STATUSES)
        .values_list("message_id", "provider_id")
        .distinct()
    )
    excluded: dict[int, set[int]] = defaultdict(set)
    for message_id, provider_id in pairs:
        excluded[message_id].add(provider_id)
    return excluded


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
