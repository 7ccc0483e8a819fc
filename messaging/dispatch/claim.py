"""Step 1 of a dispatch round: claim due queued messages, route them, reserve quota and write in-flight attempts,
all in one transaction that commits before any provider is called (see `messaging.dispatch`)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, prefetch_related_objects

from accounts.models import Organization, OrganizationStatus
from messaging.contacts.selectors import organization_opted_out_lookup
from messaging.dispatch import bulk_sql
from messaging.dispatch.batch import DispatchGroup
from messaging.dispatch.route_batch import BatchRouter
from messaging.dispatch.timing import retry_delay, send_deadline
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus, Provider
from messaging.providers.registry import wire_sender_name
from messaging.services import daily_counts
from messaging.services.status import message_finalize, statuses_set
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


@dataclass
class _ClaimPlan:
    """A batch's routing: attempts to write (in flight, or "no route" with when to look again) and the messages
    that ran out of time waiting for a route."""

    in_flight: list[DispatchAttempt] = field(default_factory=list)
    no_route: list[tuple[DispatchAttempt, datetime | None, str]] = field(default_factory=list)  # (attempt, next, why)


def messages_claim(*, now: datetime, limit: int, channel: str | None = None) -> list[DispatchGroup]:
    """Claim up to `limit` due messages; returns them grouped by the provider each was routed to. Committed when
    this returns: from here a crash cannot lose the fact that a message may be at a provider.

    The batch is routed on a snapshot of the provider chain read without locks, its attempts are written, and the
    provider and usage rows are locked last (`BatchRouter.confirm`): concurrent workers wait for each other only
    for the end of a claim. If the snapshot no longer holds, the writes are rolled back to a savepoint and the
    batch is routed again on the locked rows. The daily counts of the claimed messages are written as the block
    ends, after every other lock. `channel` claims that channel's messages only (one-time codes ahead of bulk)."""
    with transaction.atomic(), daily_counts.counts_collected():
        messages = _lock_due(now=now, limit=limit, channel=channel)
        if not messages:
            return []
        settled = _settle_unsendable(messages, now=now)
        routable = [m for m in messages if m.status == MessageStatus.QUEUED]
        excluded = _providers_excluded(routable)
        attempts_before = {m.pk: m.attempts for m in routable}
        batch_id = uuid.uuid4()

        router = BatchRouter(now=now)
        savepoint = transaction.savepoint()
        before = _InMemoryState.of(routable)
        plan = _plan(router, routable, excluded=excluded, attempts_before=attempts_before, batch_id=batch_id, now=now)
        given_up = _write(plan, now=now)
        if router.confirm():
            transaction.savepoint_commit(savepoint)
        else:  # routed again on the locked rows, from the state the messages had before the first routing
            transaction.savepoint_rollback(savepoint)
            before.restore()
            router = BatchRouter(now=now, locked=True)
            plan = _plan(
                router, routable, excluded=excluded, attempts_before=attempts_before, batch_id=batch_id, now=now
            )
            given_up = _write(plan, now=now)
        router.finish()
        webhook_events_record(messages=settled + given_up)
        return router.dispatch_groups()


@dataclass
class _InMemoryState:
    """What a routing changes outside the database: the messages' fields on their instances (status `sending`,
    attempts, errors, a refund's marks) and the daily count changes gathered for the block. Rolling back to a
    savepoint undoes the rows only; without restoring these too, a message the second routing leaves in the
    queue would be written back `sending` with no attempt, and counted as moved."""

    messages: list[Message]
    fields: list[tuple[dict, dict]]
    counts: Counter | None

    @classmethod
    def of(cls, messages: list[Message]) -> _InMemoryState:
        fields = [(dict(vars(m)), dict(m._state.fields_cache)) for m in messages]
        return cls(messages=messages, fields=fields, counts=daily_counts.pending_mark())

    def restore(self) -> None:
        for message, (values, cache) in zip(self.messages, self.fields, strict=True):
            state = message._state
            vars(message).clear()
            vars(message).update(values)
            message._state = state
            state.fields_cache = dict(cache)
        daily_counts.pending_restore(self.counts)


def _lock_due(*, now: datetime, limit: int, channel: str | None = None) -> list[Message]:
    """Lock up to `limit` due queued messages of active organizations, oldest due first; rows another worker holds
    are skipped. A suspended or closed organization's messages wait (and run into their deadline, refunded)
    instead of going out: suspension stops sending, not only accepting.

    The organizations that may not send are asked first and left out by id: a join on the organization's status
    makes PostgreSQL read every queued message of the active organizations and sort them (a sixth of a second
    per claim with 20,000 queued), while this walks the partial index of queued messages (`message_claimable_idx`)
    in order and stops at `limit`."""
    not_sending = Organization.objects.exclude(status=OrganizationStatus.ACTIVE).values_list("id", flat=True)
    queryset = (
        Message.objects.unscoped()  # the worker serves every organization
        .filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
        .exclude(organization_id__in=list(not_sending))
        .order_by("next_attempt_at", "id")
    )
    if channel is not None:  # one-time codes ahead of bulk: `message_claimable_otp_idx`
        queryset = queryset.filter(channel=channel)
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    if bulk_sql.available():  # locked and set `sending` by one statement; `_write` leaves the routed ones as they are
        messages = bulk_sql.messages_claim(queryset[:limit], now=now)
    else:
        messages = list(queryset[:limit])
    # One Organization per organization of the batch, shared by its messages (not one per row).
    prefetch_related_objects(messages, "organization")
    return messages


def _settle_unsendable(messages: list[Message], *, now: datetime) -> list[Message]:
    """End, refunded, the messages that must not go out: the recipient opted out since the message was accepted
    (checked again here: a scheduled or retried message may be older than the objection), or the send deadline
    passed. Returns them (saved)."""
    opted_out = _opted_out(messages)
    settled = []
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
        elif send_deadline(message) <= now:
            message_finalize(
                message,
                MessageStatus.FAILED,
                now=now,
                error_code="send_deadline_passed",
                error_message="Could not be sent in time; refunded.",
            )
        else:
            continue
        settled.append(message)
    if settled:
        Message.objects.unscoped().bulk_update(settled, _MESSAGE_CLAIM_FIELDS, batch_size=500)
    return settled


def _plan(
    router: BatchRouter,
    messages: list[Message],
    *,
    excluded: dict[int, set[int]],
    attempts_before: dict[int, int],
    batch_id: uuid.UUID,
    now: datetime,
) -> _ClaimPlan:
    """Route each message (the router reserves quota and gives out probes on its snapshot) and build its attempt;
    nothing is written and the messages are not changed, so a batch can be planned again."""
    plan = _ClaimPlan()
    for message in messages:
        decision = router.route(message, failed_provider_ids=frozenset(excluded.get(message.pk, ())))
        attempt_number = attempts_before[message.pk] + 1
        skipped = decision.skipped_as_dicts
        if decision.state is None:
            reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped) or "no provider configured"
            attempt = _attempt(
                message,
                None,
                attempt_number=attempt_number,
                status=AttemptStatus.NO_ROUTE,
                reason=decision.reason,
                skipped=skipped,
                batch_id=batch_id,
                started_at=now,
                finished_at=now,
                error_code="no_route",
                error_message=reasons,
            )
            next_at = now + retry_delay(attempt_number)
            plan.no_route.append((attempt, next_at if next_at < send_deadline(message) else None, reasons))
            continue
        provider = decision.provider
        attempt = _attempt(
            message,
            provider,
            attempt_number=attempt_number,
            status=AttemptStatus.IN_FLIGHT,
            sender_name=wire_sender_name(provider, message.requested_sender_name),
            reason=decision.reason,
            skipped=skipped,
            batch_id=batch_id,
            started_at=now,
        )
        plan.in_flight.append(attempt)
        router.assign(attempt, message, decision)
    return plan


_ATTEMPT_MESSAGE = DispatchAttempt._meta.get_field("message")
_ATTEMPT_PROVIDER = DispatchAttempt._meta.get_field("provider")


def _attempt(message: Message, provider: Provider | None, **fields) -> DispatchAttempt:
    """An attempt of `message` through `provider`, both set by id with the instances cached: assigning a related
    instance asks the database routers about the relation each time, a third of the cost of building an attempt,
    a thousand times a claim."""
    attempt = DispatchAttempt(message_id=message.pk, provider_id=provider.pk if provider else None, **fields)
    _ATTEMPT_MESSAGE.set_cached_value(attempt, message)
    if provider is not None:
        _ATTEMPT_PROVIDER.set_cached_value(attempt, provider)
    return attempt


def _write(plan: _ClaimPlan, *, now: datetime) -> list[Message]:
    """Write the plan: the attempts, the routed messages `sending`, the others back in the queue (or failed and
    refunded when no route came in time). Returns the messages given up on."""
    given_up: list[Message] = []
    waiting: list[Message] = []
    for attempt, next_at, reasons in plan.no_route:
        message = attempt.message
        message.attempts = attempt.attempt_number
        if next_at is None:
            message_finalize(
                message,
                MessageStatus.FAILED,
                now=now,
                error_code="no_route",
                error_message=f"No provider could take it: {reasons}",
            )
            given_up.append(message)
        else:
            message.next_attempt_at = next_at
            message.error_code, message.error_message = "no_route", f"Waiting for a route: {reasons}"
        waiting.append(message)
    routed = []
    for attempt in plan.in_flight:
        message = attempt.message
        message.attempts = attempt.attempt_number
        routed.append(message)
    statuses_set(routed, MessageStatus.SENDING, now=now)  # counted in one pass, not per message

    if bulk_sql.available():
        bulk_sql.attempts_in_flight_insert(plan.in_flight)
        DispatchAttempt.objects.bulk_create([attempt for attempt, _, _ in plan.no_route])
    else:
        DispatchAttempt.objects.bulk_create(plan.in_flight + [a for a, _, _ in plan.no_route], batch_size=1000)
    # Routed messages all change alike: one UPDATE (bulk_update's CASE per row is slow at 1,000 rows). On
    # PostgreSQL the claiming statement wrote them so already (`bulk_sql.messages_claim`).
    routed_ids = [attempt.message_id for attempt in plan.in_flight]
    if routed_ids and not bulk_sql.available():
        Message.objects.unscoped().filter(id__in=routed_ids).update(
            status=MessageStatus.SENDING, status_changed_at=now, attempts=F("attempts") + 1
        )
    if waiting:
        Message.objects.unscoped().bulk_update(waiting, _MESSAGE_CLAIM_FIELDS, batch_size=500)
    return given_up


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
    """(organization id, number) of the messages whose recipient must not be sent to (one statement per
    organization in the batch): every answer to `portal.hooks.send_suppressions`, as `hooks.suppressed_numbers`
    asks them, except that messaging's own (the organization's opt-out list) is asked with the keyed hash each
    message stores (`recipient_hash`) instead of hashing its number again."""
    hashes_by_organization: dict[int, dict[str, str]] = defaultdict(dict)
    for message in messages:
        hashes_by_organization[message.organization_id][message.recipient] = message.recipient_hash
    others = [answer for answer in hooks.send_suppressions.answers() if answer is not organization_opted_out_lookup]
    opted_out: set[tuple[int, str]] = set()
    for organization_id, number_hashes in hashes_by_organization.items():
        numbers = list(number_hashes)
        lookups = [
            organization_opted_out_lookup(organization_id=organization_id, numbers=numbers, number_hashes=number_hashes)
        ]
        lookups += [answer(organization_id=organization_id, numbers=numbers) for answer in others]
        opted_out.update((organization_id, number) for number in hooks.suppression_lookups_run(lookups))
    return opted_out
