"""Periodic work on open requests; each job is idempotent, so re-running it sends nothing twice.

Every reminder and escalation is recorded once in `ReminderSent` under a unique key: a verification reminder 24
hours after submission, reminders to the assignee 10, 5 and 1 days before the deadline, one alert per attempt of
a stuck step, and one escalation per calendar day for an overdue request. Unverified requests expire after 7 days.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.timezone import operator_date
from privacy import sla
from privacy.requests.correspondence import (
    admin_change_url,
    deadline_day,
    email_verify_url,
    message_queue,
    staff_alert_recipients,
)
from privacy.requests.models import (
    OPEN_STATUSES,
    ActorLabel,
    DataSubjectRequest,
    FulfilmentStep,
    ReminderSent,
    RequestStatus,
    StepStatus,
    VerificationMethod,
)
from privacy.requests.selectors import STEP_STUCK_AFTER, step_is_stuck
from privacy.requests.workflow import event_record, request_lock, transition

VERIFY_REMINDER_AFTER = timedelta(hours=24)
DUE_REMINDER_DAYS = (10, 5, 1)  # reminders to the assignee, each sent once
FIRST_ANSWER_REMINDER_DAYS = (5, 1)  # before the NPC's 15-day mark for a first substantive answer


def _reminder_once(*, key: str, request: DataSubjectRequest | None = None, inquiry=None, sent_to=()) -> bool:
    _, created = ReminderSent.objects.get_or_create(
        request=request, inquiry=inquiry, key=key, defaults={"sent_to": list(sent_to)}
    )
    return created


def requests_expire_unverified(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(
        DataSubjectRequest.objects.filter(
            status=RequestStatus.SUBMITTED, received_at__lte=now - sla.UNVERIFIED_LIFETIME
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            request = DataSubjectRequest.objects.select_for_update().get(pk=pk)
            if request.status == RequestStatus.SUBMITTED:
                transition(
                    request, to=RequestStatus.EXPIRED, actor_label=ActorLabel.SYSTEM, note="Not verified within 7 days"
                )
    return len(ids)


def requests_remind_unverified(*, now: datetime | None = None) -> int:
    """One reminder, 24 hours after submission, to confirm identity."""
    now = now or timezone.now()
    sent = 0
    pending = DataSubjectRequest.objects.filter(
        status=RequestStatus.SUBMITTED,
        received_at__lte=now - VERIFY_REMINDER_AFTER,
        received_at__gt=now - sla.UNVERIFIED_LIFETIME,
    ).exclude(reminders__key="verify_24h")
    for request in pending.iterator(chunk_size=200):
        with transaction.atomic():
            if not _reminder_once(key="verify_24h", request=request, sent_to=[request.email]):
                continue
            if request.verification_method == VerificationMethod.SMS:
                how = (
                    "Enter the SMS code on the status page (the link in our first e-mail); "
                    "you can ask for a new code there."
                )
            else:
                how = f"Open this link to confirm it is you:\n{email_verify_url(request)}"
            message_queue(
                request,
                kind="verification_reminder",
                subject="Please confirm your privacy request",
                body=(
                    f"We received your request {request.reference} but you have not confirmed it "
                    f"yet.\n\n{how}\n\n"
                    "Unconfirmed requests are closed 7 days after they were sent.\n"
                ),
            )
            sent += 1
    return sent


def _workable():
    return DataSubjectRequest.objects.filter(
        status__in=[RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS, RequestStatus.AWAITING_REQUESTER],
        duplicate_of__isnull=True,
    ).select_related("assignee")


def requests_alert_stuck_steps(*, now: datetime | None = None) -> int:
    """A step that runs far too long shows on the board and is reported to staff once per attempt."""
    now = now or timezone.now()
    sent = 0
    running = FulfilmentStep.objects.filter(
        status=StepStatus.RUNNING, updated_at__lt=now - STEP_STUCK_AFTER, request__status__in=OPEN_STATUSES
    ).select_related("request")
    for step in running.iterator(chunk_size=200):
        if not step_is_stuck(step, now=now):
            continue
        with transaction.atomic():
            request = request_lock(step.request)
            key = f"stuck:{step.step}:{step.attempts}"[:40]
            if not _reminder_once(key=key, request=request, sent_to=staff_alert_recipients()):
                continue
            since = f"{timezone.localtime(step.updated_at):%Y-%m-%d %H:%M}"
            request.needs_attention = True
            request.last_error = f"{step.step}: no progress since {since}"
            request.save(update_fields=["needs_attention", "last_error", "updated_at"])
            event_record(request, action="step_stuck", actor_label=ActorLabel.SYSTEM, note=request.last_error)
            message_queue(
                request,
                kind="staff_alert",
                subject=f"Privacy request step stuck: {step.step}",
                body=(
                    f"The {step.step} step of {request.reference} has reported nothing since {since}. "
                    f"Check it and re-run it from admin: {settings.SITE_URL}{admin_change_url(request)}\n"
                ),
                recipients=staff_alert_recipients(),
            )
            sent += 1
    return sent


def requests_send_due_reminders(*, now: datetime | None = None) -> int:
    """Remind the assignee (the privacy officer when nobody is assigned) 10, 5 and 1 days before the
    deadline."""
    now = now or timezone.now()
    sent = 0
    horizon = now + timedelta(days=max(DUE_REMINDER_DAYS) + 1)
    candidates = _workable().filter(due_at__lte=horizon).exclude(status=RequestStatus.AWAITING_REQUESTER)
    for request in candidates.iterator(chunk_size=200):
        due = request.due_at
        left = sla.days_left(due_at=due, now=now)
        if left < 0:
            continue  # overdue: the daily escalation takes over
        threshold = min((d for d in DUE_REMINDER_DAYS if left <= d), default=None)
        if threshold is None:
            continue
        recipient = request.assignee.email if request.assignee else settings.PRIVACY_OFFICER_EMAIL
        with transaction.atomic():
            if not _reminder_once(key=f"due_{threshold}d", request=request, sent_to=[recipient]):
                continue
            message_queue(
                request,
                kind="due_reminder",
                subject=f"Due in {left} day{'s' if left != 1 else ''}",
                body=(
                    f"{request.reference} ({request.get_kind_display()}, {request.get_status_display()}) is "
                    "due by "
                    f"{deadline_day(due)}.\n{settings.SITE_URL}{reverse('privacy:staff_board')}\n"
                ),
                recipients=[recipient],
            )
            sent += 1
    return sent


def requests_send_first_answer_reminders(*, now: datetime | None = None) -> int:
    """Remind the assignee (the privacy officer when nobody is assigned) 5 and 1 days before the 15-day mark for a
    first substantive answer, and once when it passed without one (a person may then complain to the NPC)."""
    now = now or timezone.now()
    sent = 0
    horizon = now + timedelta(days=max(FIRST_ANSWER_REMINDER_DAYS) + 1)
    candidates = _workable().filter(first_response_at__isnull=True, first_response_due_at__lte=horizon)
    for request in candidates.iterator(chunk_size=200):
        left = sla.days_left(due_at=request.first_response_due_at, now=now)
        if left < 0:
            key, subject = "first_answer_missed", "No first answer within 15 days"
        else:
            threshold = min((d for d in FIRST_ANSWER_REMINDER_DAYS if left <= d), default=None)
            if threshold is None:
                continue
            key, subject = f"first_answer_{threshold}d", f"First answer due in {left} day{'s' if left != 1 else ''}"
        recipient = request.assignee.email if request.assignee else settings.PRIVACY_OFFICER_EMAIL
        with transaction.atomic():
            if not _reminder_once(key=key, request=request, sent_to=[recipient]):
                continue
            message_queue(
                request,
                kind="first_answer_reminder",
                subject=subject,
                body=(
                    f"{request.reference} ({request.get_kind_display()}) needs a first substantive answer by "
                    f"{deadline_day(request.first_response_due_at)} (the NPC's 15 calendar days; the requester may "
                    "complain after that). Write to the requester from admin; the full answer is due by "
                    f"{deadline_day(request.due_at)}.\n{settings.SITE_URL}{admin_change_url(request)}\n"
                ),
                recipients=[recipient],
            )
            sent += 1
    return sent


def requests_escalate_overdue(*, now: datetime | None = None) -> int:
    """Once a day, every overdue request is escalated to the privacy officer in one e-mail per request."""
    now = now or timezone.now()
    today = operator_date(now).isoformat()
    sent = 0
    overdue = _workable().filter(due_at__lt=now).exclude(status=RequestStatus.AWAITING_REQUESTER)
    for request in overdue.iterator(chunk_size=200):
        with transaction.atomic():
            if not _reminder_once(key=f"overdue:{today}", request=request, sent_to=[settings.PRIVACY_OFFICER_EMAIL]):
                continue
            message_queue(
                request,
                kind="escalation",
                subject="OVERDUE privacy request",
                body=(
                    f"{request.reference} ({request.get_kind_display()}) was due by "
                    f"{deadline_day(request.due_at)} "
                    f"and is still {request.get_status_display().lower()}. Assignee: "
                    f"{request.assignee.email if request.assignee else 'nobody'}.\n"
                    f"{settings.SITE_URL}{admin_change_url(request)}\n"
                ),
                recipients=[settings.PRIVACY_OFFICER_EMAIL],
            )
            sent += 1
    return sent
