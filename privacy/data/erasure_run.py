"""Running an erasure job: what is due of it, area by area, safe to run again at any time (the scheduler does).

A legal hold puts the job on hold; each area is claimed, erased in one transaction, and on failure retried with
backoff until PRIVACY_ERASURE_MAX_ATTEMPTS, then e-mailed to staff. When every area but the privacy records is
done the request's erasure step succeeds (its confirmation e-mail still reaches the person); the privacy area goes
last, then the ledger entry (hashes only) is written and the job's identifiers are blanked.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.services import audit_log_record
from portal.personal_data import ErasureArea
from privacy.data.erasure_areas import AREA_ORDER, correspondence_pending, erase_area
from privacy.data.erasure_rules import scrub
from privacy.data.legal_holds import holds_for
from privacy.data.models import ErasureJob, ErasureLedgerEntry, ErasureStatus, ErasureTask, ErasureTaskStatus
from privacy.data.reporting import report_to_request
from privacy.data.subjects import Subject, subject_for_job
from privacy.requests.models import FulfilmentStepKind, StepStatus

logger = logging.getLogger(__name__)


class ErasureDeferred(Exception):
    """The area cannot run yet for a reason that is not a failure (it does not count as an attempt)."""


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(5 * 2 ** max(attempts - 1, 0), 24 * 60))


def _admin_url(job: ErasureJob) -> str:
    try:
        return settings.SITE_URL + reverse("admin:privacy_erasurejob_change", args=[job.pk])
    except NoReverseMatch:
        return f"ErasureJob #{job.pk}"


def _alert_staff(job: ErasureJob, task: ErasureTask) -> None:
    recipients = list(settings.OPS_ALERT_EMAILS)
    officer = getattr(settings, "PRIVACY_OFFICER_EMAIL", "")
    if officer and officer not in recipients:
        recipients.append(officer)
    send_mail(
        subject=f"Erasure #{job.pk}: the {task.area} area failed after {task.attempts} attempts",
        message=(
            f"Erasure job #{job.pk} ({job.subject_kind}) could not erase the {task.get_area_display()} "
            "area.\n\n"
            f"Last error: {task.last_error}\n\nThe other areas carry on; this one waits for staff. "
            f'Fix the cause, then use "Retry failed areas" in admin: {_admin_url(job)}\n'
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


def _run_task(job: ErasureJob, task: ErasureTask, subject: Subject, now) -> None:
    # Claim the task: if another worker ran the same job meanwhile, its status moved on and this run skips it.
    claimed = ErasureTask.objects.filter(pk=task.pk, status=task.status).update(
        status=ErasureTaskStatus.RUNNING, started_at=task.started_at or now
    )
    if not claimed:
        task.refresh_from_db()
        return
    task.status = ErasureTaskStatus.RUNNING
    task.started_at = task.started_at or now
    try:
        if task.area == ErasureArea.PRIVACY and correspondence_pending(subject):
            raise ErasureDeferred("Waiting for the request's last e-mail to be sent before erasing its address.")
        counts = erase_area(area=task.area, subject=subject)
    except ErasureDeferred as exc:
        task.status = ErasureTaskStatus.RETRYING
        task.last_error = str(exc)
        task.next_attempt_at = now + timedelta(minutes=5)
        task.save(update_fields=["status", "last_error", "next_attempt_at"])
        return
    except Exception as exc:  # any failure must land on the task, visible and retried, never lost
        logger.exception("erasure %s area %s failed", job.pk, task.area)
        task.attempts += 1
        task.last_error = scrub(f"{type(exc).__name__}: {exc}", subject.identifiers())[:2000]
        if task.attempts >= settings.PRIVACY_ERASURE_MAX_ATTEMPTS:
            task.status = ErasureTaskStatus.FAILED
            task.next_attempt_at = None
        else:
            task.status = ErasureTaskStatus.RETRYING
            task.next_attempt_at = now + _backoff(task.attempts)
        task.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
        if task.status == ErasureTaskStatus.FAILED:
            _alert_staff(job, task)
        return
    task.attempts += 1
    task.status = ErasureTaskStatus.DONE
    task.rows_found = counts.found
    task.rows_changed = counts.changed
    task.last_error = ""
    task.next_attempt_at = None
    task.finished_at = timezone.now()
    task.save()


def _due(task: ErasureTask, now) -> bool:
    if task.status in (ErasureTaskStatus.PENDING, ErasureTaskStatus.ON_HOLD):
        return True
    return task.status == ErasureTaskStatus.RETRYING and (task.next_attempt_at is None or task.next_attempt_at <= now)


def erasure_job_run(*, job_id: int, now=None) -> ErasureJob:
    """Run what is due of one erasure job. Safe to call again at any time (the scheduler does)."""
    now = now or timezone.now()
    with transaction.atomic():
        job = ErasureJob.objects.select_for_update().get(pk=job_id)
        if job.status in (ErasureStatus.DONE, ErasureStatus.CANCELLED) or job.erase_after > now:
            return job
        subject = subject_for_job(job)
        holds = holds_for(subject)
        if holds:
            if job.status != ErasureStatus.ON_HOLD:
                job.status = ErasureStatus.ON_HOLD
                job.save(update_fields=["status"])
                job.tasks.exclude(status=ErasureTaskStatus.DONE).update(status=ErasureTaskStatus.ON_HOLD)
                audit_log_record(
                    event_type="privacy.erasure_on_hold", target=job, extra={"holds": [h.pk for h in holds]}
                )
            return job
        if job.status != ErasureStatus.RUNNING:
            job.status = ErasureStatus.RUNNING
            job.started_at = job.started_at or now
            job.save(update_fields=["status", "started_at"])
            job.tasks.filter(status=ErasureTaskStatus.ON_HOLD).update(status=ErasureTaskStatus.PENDING)
    tasks = {task.area: task for task in job.tasks.all()}
    for area in AREA_ORDER:
        task = tasks[area]
        if area == ErasureArea.PRIVACY:
            others = [t for a, t in tasks.items() if a != ErasureArea.PRIVACY]
            if not all(t.status == ErasureTaskStatus.DONE for t in others):
                break
            # Everything but the request's own record is erased: the request can be completed (its e-mail sent).
            if task.status == ErasureTaskStatus.PENDING:
                report_to_request(job, step=FulfilmentStepKind.ERASURE, status=StepStatus.SUCCEEDED)
        if _due(task, now):
            _run_task(job, task, subject, now)
    return _finish_if_settled(job, tasks, subject)


@transaction.atomic
def _finish_if_settled(job: ErasureJob, tasks: dict[str, ErasureTask], subject: Subject) -> ErasureJob:
    job = ErasureJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ErasureStatus.DONE, ErasureStatus.CANCELLED):
        return job  # another run finished it meanwhile
    statuses = {task.status for task in tasks.values()}
    if statuses == {ErasureTaskStatus.DONE}:
        ErasureLedgerEntry.objects.create(
            job_id_ref=job.pk,
            subject_kind=job.subject_kind,
            email_hash=subject.email_hash,
            phone_hash=subject.phone_hash,
        )
        job.status = ErasureStatus.DONE
        job.email = ""
        job.phone_number = ""
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "email", "phone_number", "finished_at"])
        audit_log_record(
            event_type="privacy.erasure_done",
            target=job,
            extra={area: {"found": t.rows_found, "changed": t.rows_changed} for area, t in tasks.items()},
        )
        return job
    still_trying = any(
        task.status in (ErasureTaskStatus.RETRYING, ErasureTaskStatus.RUNNING)
        or (task.status == ErasureTaskStatus.PENDING and task.area != ErasureArea.PRIVACY)
        for task in tasks.values()
    )
    if ErasureTaskStatus.FAILED in statuses and not still_trying and job.status != ErasureStatus.FAILED:
        failed = [t for t in tasks.values() if t.status == ErasureTaskStatus.FAILED]
        job.status = ErasureStatus.FAILED
        job.save(update_fields=["status"])
        audit_log_record(event_type="privacy.erasure_failed", target=job, extra={"areas": [t.area for t in failed]})
        errors = "; ".join(f"{t.area}: {t.last_error}" for t in failed)
        report_to_request(job, step=FulfilmentStepKind.ERASURE, status=StepStatus.FAILED, error=errors)
    return job


def erasures_due(*, now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        ErasureJob.objects.filter(
            status__in=[ErasureStatus.SCHEDULED, ErasureStatus.RUNNING, ErasureStatus.ON_HOLD],
            erase_after__lte=now,
        ).values_list("pk", flat=True)
    )


def erasures_run_due(*, now=None) -> int:
    ids = erasures_due(now=now)
    for job_id in ids:
        try:
            erasure_job_run(job_id=job_id, now=now)
        except Exception:  # one broken job must not stop the others; it stays due and is logged
            logger.exception("erasure job %s could not run", job_id)
    return len(ids)
