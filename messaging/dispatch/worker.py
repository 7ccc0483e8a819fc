"""The dispatch round: claim, call, record, repeated until nothing is due (see `messaging.dispatch`)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from messaging.dispatch.batch import DispatchSummary
from messaging.dispatch.claim import messages_claim
from messaging.dispatch.outcome import outcomes_record
from messaging.dispatch.provider_call import group_send
from messaging.models import MessageChannel, Provider
from messaging.providers.registry import adapter_call_size


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
            outcomes_record(group, outcomes, summary)
    return summary


def claim_batch_size() -> int:
    """Messages claimed per round: at least SMS_DISPATCH_BATCH_SIZE, and enough to fill one call of the enabled
    route that takes the most numbers a call (claiming 500 for a provider that takes 1,000 halves its calls)."""
    codes = Provider.objects.filter(enabled=True).values_list("adapter", flat=True).distinct()
    return max([settings.SMS_DISPATCH_BATCH_SIZE, *(adapter_call_size(code) for code in codes)])
