"""Erasure of one person: marked first, run after the grace period, one data area at a time.

    erasure_mark ──> ErasureJob(scheduled, erase_after = now + PRIVACY_ERASURE_GRACE_HOURS)
    erasures_run_due (every few minutes) ──> erasure_job_run(job):
        for each area (exports, messages, logs, billing, accounts, then privacy): ledger entry (own database) ──>
            ErasureTask pending ──> done | on_hold (a legal hold keeps part; the rest is erased) | retrying ──> failed
        every area done or held ──> the request's "erasure" step succeeds: completion e-mail (what was kept, why)
        every area done ──> job done, ledger complete, identifiers blanked from the job

This module marks, cancels and retries erasures (staff and the request workflow call it); the run itself is
`privacy.data.erasure_run`, each area `privacy.data.erasure_areas`. A failure is recorded on its ErasureTask
(attempts, error, next try with backoff), e-mailed to staff, and shown in admin.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from portal.errors import ApplicationError, Conflict, NotFound
from privacy.data.erasure_areas import AREA_ORDER
from privacy.data.models import ErasureJob, ErasureStatus, ErasureTask, ErasureTaskStatus, SubjectKind
from privacy.data.reporting import report_to_request
from privacy.data.subjects import Subject
from privacy.data.tasks import erasure_job_run_task
from privacy.requests.models import FulfilmentStepKind, StepStatus


@transaction.atomic
def erasure_job_create(
    *,
    subject_kind: str,
    user: User | None = None,
    email: str = "",
    phone_number: str = "",
    request_id: int | None = None,
    actor: User | None = None,
) -> ErasureJob:
    if subject_kind == SubjectKind.USER and user is None:
        raise ApplicationError("Erasing an account holder needs their account.", code="no_account")
    if user is not None:
        email = email or user.email
        # Not the profile's phone number: anyone can type any number there, and the messages to a number belong
        # to every tenant that sent them. The caller passes a number only once its holder proved it.
    subject = Subject.build(user_id=user.pk if user else None, email=email, phone=phone_number)
    if not (subject.user_id or subject.email or subject.phone):
        raise ApplicationError("Nothing identifies the person to erase.", code="no_identifier")
    open_jobs = ErasureJob.objects.filter(
        status__in=[ErasureStatus.SCHEDULED, ErasureStatus.RUNNING, ErasureStatus.ON_HOLD]
    )
    if request_id is not None and open_jobs.filter(request_id=request_id).exists():
        raise Conflict("An erasure for this request is already scheduled or running.", code="erasure_exists")
    job = ErasureJob.objects.create(
        request_id=request_id,
        subject_kind=subject_kind,
        user=user,
        email=subject.email,
        phone_number=subject.phone,
        email_hash=subject.email_hash,
        phone_hash=subject.phone_hash,
        erase_after=timezone.now() + timedelta(hours=settings.PRIVACY_ERASURE_GRACE_HOURS),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    ErasureTask.objects.bulk_create([ErasureTask(job=job, area=area) for area in AREA_ORDER])
    audit_log_record(
        event_type="privacy.erasure_marked",
        actor=actor,
        target=job,
        extra={
            "subject_kind": subject_kind,
            "erase_after": job.erase_after.isoformat(),
            "request": request_id,
        },
    )
    return job


@transaction.atomic
def erasure_job_cancel(*, job: ErasureJob, actor: User | None, reason: str) -> ErasureJob:
    job = ErasureJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (ErasureStatus.SCHEDULED, ErasureStatus.ON_HOLD):
        raise Conflict(f"Erasure #{job.pk} is {job.status}; only a scheduled or held one can be cancelled.")
    job.status = ErasureStatus.CANCELLED
    job.email = ""
    job.phone_number = ""
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "email", "phone_number", "finished_at"])
    audit_log_record(event_type="privacy.erasure_cancelled", actor=actor, target=job, extra={"reason": reason})
    return job


@transaction.atomic
def erasure_tasks_retry(*, job: ErasureJob, actor: User | None) -> int:
    """Staff re-run failed areas (after fixing the cause): they start again with fresh attempts."""
    job = ErasureJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ErasureStatus.DONE, ErasureStatus.CANCELLED):
        raise Conflict(f"Erasure #{job.pk} is {job.status}.")
    # RUNNING too: a worker that died mid-area left its status behind (its transaction rolled back).
    stuck_or_failed = [ErasureTaskStatus.FAILED, ErasureTaskStatus.RETRYING, ErasureTaskStatus.RUNNING]
    retried = job.tasks.filter(status__in=stuck_or_failed).update(
        status=ErasureTaskStatus.PENDING, attempts=0, next_attempt_at=None
    )
    if job.status == ErasureStatus.FAILED:
        job.status = ErasureStatus.RUNNING
        job.save(update_fields=["status"])
    audit_log_record(event_type="privacy.erasure_retried", actor=actor, target=job, extra={"areas": retried})
    transaction.on_commit(partial(report_to_request, job, step=FulfilmentStepKind.ERASURE, status=StepStatus.RUNNING))
    transaction.on_commit(partial(erasure_job_run_task.enqueue, job_id=job.pk))
    return retried


def erasure_job_get(*, job_id: int) -> ErasureJob:
    job = ErasureJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such erasure.")
    return job
