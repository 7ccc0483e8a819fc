"""Crash recovery: attempts left in flight by a worker that stopped between the claim and the record, and the
staff decision for those whose outcome nobody can know.

An attempt still `in_flight` after `SMS_IN_FLIGHT_TIMEOUT_SECONDS` belonged to a worker that died. If the adapter
can list what the provider accepted (`supports_sent_lookup` / `find_sent`, e.g. Semaphore's message list), the
provider's answer decides: a listed message to that number with that text that no attempt of ours is recorded
for -> it arrived, and is recorded as accepted (never sent again); none -> the attempt is `abandoned` and the
message requeued. If the provider cannot be asked (IPROG has no such list), the engine does NOT resend (a
duplicate SMS cannot be called back, and the customer was charged once): the attempt becomes `unknown`, the
message stays `sending` with error_code `dispatch_outcome_unknown`, staff are alerted and decide in admin
(`dispatch_attempt_resolve`: mark sent / resend / fail and refund). Its quota reservation is kept until then (it
may have been used).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import models, transaction
from django.utils import timezone

from accounts.services import audit_log_record
from messaging.dispatch.batch import DispatchGroup, DispatchSummary, NeverReceived
from messaging.dispatch.outcome import message_requeue, outcomes_record
from messaging.dispatch.provider_call import Outcome
from messaging.dispatch.quota import usage_adjust
from messaging.dispatch.wake import wake_dispatcher_on_commit
from messaging.enqueue import DISPATCH_QUEUED
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus, Provider
from messaging.providers.base import ProviderError, SendResult
from messaging.providers.registry import provider_adapter_build
from messaging.services.db import lock_rows
from messaging.services.status import message_finalize, status_set
from messaging.services.webhooks import webhook_events_record
from portal.errors import ApplicationError
from portal.timezone import month_start

logger = logging.getLogger(__name__)


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
        items: list[tuple[DispatchAttempt, Message]] = []
        outcomes: list[Outcome] = []
        claimed: set[str] = set()
        listed: dict = {}  # the provider's list, read once for every attempt of this run
        with adapter:
            for attempt in attempts:
                message = attempt.message
                try:
                    candidates = adapter.find_sent(
                        recipient=message.recipient,
                        body=message.delivery_body or message.body,
                        since=attempt.started_at,
                        memo=listed,
                    )
                except ProviderError:
                    continue  # cannot ask now: left in flight, asked again next run
                found = _unclaimed(provider, candidates, claimed)
                items.append((attempt, message))
                if found is None:
                    outcomes.append(NeverReceived("the provider has no record of this hand-over; sent again"))
                    summary.requeued += 1
                else:
                    claimed.add(found.provider_message_id)
                    outcomes.append(replace(found, reference=attempt.reference))
                    summary.accepted += 1
        if items:
            month = month_start(attempts[0].started_at)
            # One group per sender name, as dispatch made them: the name is recorded on the messages it accepts.
            for sender_name in dict.fromkeys(attempt.sender_name for attempt, _ in items):
                picked = [i for i, (attempt, _) in enumerate(items) if attempt.sender_name == sender_name]
                group = DispatchGroup(
                    provider=provider, items=[items[i] for i in picked], month=month, sender_name=sender_name
                )
                outcomes_record(group, [outcomes[i] for i in picked], DispatchSummary())
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
        Message.objects.unscoped().filter(dispatch_attempts__id__in=ids, status=MessageStatus.SENDING).update(
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


class AttemptDecision(models.TextChoices):
    """Staff decision for an attempt whose outcome is unknown."""

    MARK_SENT = "mark_sent", "Mark sent"  # the provider got it
    RESEND = "resend", "Resend"  # it did not: requeue now
    FAIL = "fail", "Fail and refund"  # give up


@transaction.atomic
def dispatch_attempt_resolve(*, attempt_id: int, decision: str, actor=None) -> DispatchAttempt:
    """Staff decision for an attempt whose outcome is unknown: `mark_sent` (the provider got it), `resend` (it did
    not: requeue now) or `fail` (give up and refund)."""
    if decision not in AttemptDecision.values:
        raise ApplicationError(f"Unknown decision {decision!r}.", code="invalid_decision")
    decision = AttemptDecision(decision)
    attempt = lock_rows(DispatchAttempt.objects).select_related("provider").filter(pk=attempt_id).first()
    if attempt is None or attempt.status != AttemptStatus.UNKNOWN:
        raise ApplicationError("Only attempts with an unknown outcome can be resolved.", code="not_unknown")
    message = lock_rows(Message.objects.unscoped()).select_related("organization").get(pk=attempt.message_id)
    now = timezone.now()
    if message.status == MessageStatus.SENDING:
        if decision == AttemptDecision.MARK_SENT:
            message.provider = attempt.provider
            message.sender_name = attempt.sender_name or message.sender_name
            status_set(message, MessageStatus.SENT, now=now, error_code="", error_message="")
        elif decision == AttemptDecision.RESEND:
            message_requeue(message, now=now, at=now, code="resent_by_staff", text="Resent after a staff decision.")
            if attempt.provider_id:
                usage_adjust(attempt.provider_id, month_start(attempt.started_at), -1)
        else:
            message_finalize(
                message,
                MessageStatus.FAILED,
                now=now,
                error_code="dispatch_outcome_unknown",
                error_message="Given up after a worker stop; refunded.",
            )
        message.save()
        webhook_events_record(messages=[message])
    attempt.status = AttemptStatus.ACCEPTED if decision == AttemptDecision.MARK_SENT else AttemptStatus.ABANDONED
    attempt.error_message = f"{attempt.error_message} Staff decision: {decision.value}."
    attempt.save(update_fields=["status", "error_message"])
    audit_log_record(
        event_type="dispatch.attempt_resolved",
        organization=message.organization,
        actor=actor,
        target=attempt,
        extra={"decision": decision.value, "message": message.pk},
    )
    if decision == AttemptDecision.RESEND:
        wake_dispatcher_on_commit(DISPATCH_QUEUED)
    return attempt
