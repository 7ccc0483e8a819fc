"""The dispatch round: claim, call, record, repeated until nothing is due (see `messaging.dispatch`)."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from messaging.dispatch.batch import DispatchGroup, DispatchSummary
from messaging.dispatch.claim import messages_claim
from messaging.dispatch.outcome import outcomes_record
from messaging.dispatch.provider_call import Outcome, group_send
from messaging.models import DispatchAttempt, Message, MessageChannel, Provider
from messaging.providers.registry import adapter_call_size

logger = logging.getLogger(__name__)

# How long a round waits for the database to answer again (a restart, a failover) before it leaves the provider's
# answers to crash recovery; and the waits between tries, the last one repeating.
RECORD_PATIENCE_SECONDS = 60
RECORD_RETRY_WAITS = (0.2, 0.5, 1, 2, 5)


def dispatch_queued_messages(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    max_rounds: int = 50,
    channel: str | None = None,
) -> DispatchSummary:
    """Dispatch every due queued message (several rounds: a message requeued for the next provider goes out in
    the same call). Safe to run from several workers at once. `now` is for tests (due-ness and deadlines).

    Each round claims the due one-time codes first, then the oldest due messages of any kind: a code sent while a
    bulk backlog is being worked through goes out in the next round, not after the backlog. `channel` limits
    every claim to one channel (the `otp` queue's task: codes only)."""
    summary = DispatchSummary()
    limit = batch_size or claim_batch_size()
    for _ in range(max_rounds):
        moment = now or timezone.now()
        groups = messages_claim(now=moment, limit=limit, channel=channel or MessageChannel.OTP)
        if channel is None:
            groups += messages_claim(now=moment, limit=limit)
        if not groups:
            break
        summary.rounds += 1
        for group in groups:
            summary.claimed += len(group.items)
            outcomes = group_send(group)
            _outcomes_record_patiently(group, outcomes, summary)
    else:
        summary.more_left = True
    return summary


def _outcomes_record_patiently(group: DispatchGroup, outcomes: list[Outcome], summary: DispatchSummary) -> None:
    """Record what the provider answered, waiting for the database if it went away during the call: otherwise the
    hand-overs stay in flight for crash recovery, and those to a provider that cannot be asked (IPROG) wait for
    staff. A failed try rolled back (or committed without saying so: `outcomes_record` settles only attempts
    still in flight, so a second try records nothing twice); each try starts from the rows as the database has
    them, since a try changes the claimed instances as it goes."""
    deadline = time.monotonic() + RECORD_PATIENCE_SECONDS
    failures = 0
    while True:
        counted = dataclasses.replace(summary, by_provider=dict(summary.by_provider))
        try:
            if failures:
                group = _group_reloaded(group)
            outcomes_record(group, outcomes, counted)
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block or time.monotonic() >= deadline:
                raise  # the caller's transaction is lost with it; past the patience, crash recovery takes over
            wait = RECORD_RETRY_WAITS[min(failures, len(RECORD_RETRY_WAITS) - 1)]
            failures += 1
            logger.warning(
                "Recording %d outcomes: the database does not answer (%s); again in %s s",
                len(outcomes),
                str(error).strip(),
                wait,
            )
            connection.close_if_unusable_or_obsolete()  # a dropped connection is opened afresh on the next query
            time.sleep(wait)
        else:
            vars(summary).update(vars(counted))
            return


def _group_reloaded(group: DispatchGroup) -> DispatchGroup:
    """The group with its attempts and messages read again (a failed try left the instances changed). Raises the
    database's error if it still does not answer."""
    attempts = DispatchAttempt.objects.in_bulk([attempt.pk for attempt, _ in group.items])
    messages = (
        Message.objects.unscoped()  # the worker records every organization's outcomes
        .select_related("organization")
        .in_bulk([message.pk for _, message in group.items])
    )
    return dataclasses.replace(
        group, items=[(attempts[attempt.pk], messages[message.pk]) for attempt, message in group.items]
    )


def claim_batch_size() -> int:
    """Messages claimed per round: at least SMS_DISPATCH_BATCH_SIZE, and enough to fill one call of the enabled
    route that takes the most numbers a call (claiming 500 for a provider that takes 1,000 halves its calls)."""
    codes = Provider.objects.filter(enabled=True).values_list("adapter", flat=True).distinct()
    return max([settings.SMS_DISPATCH_BATCH_SIZE, *(adapter_call_size(code) for code in codes)])
