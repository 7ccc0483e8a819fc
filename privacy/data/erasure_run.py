"""Running an erasure job: what is due of it, area by area, safe to run again at any time (the scheduler does).

Each area is claimed, erased in one transaction (its task marked done in the same one), and recorded in the
erasure ledger (its own database) before and after. A failure is retried with backoff until
PRIVACY_ERASURE_MAX_ATTEMPTS, then e-mailed to staff; while it retries, the request shows the failing area and the
next attempt. A legal hold keeps only the data it names: the rest is erased, the area waits on hold, and staff are
told once per hold. The privacy records go last; only when every area is settled does the request complete, and
the person is told what was erased and what was kept and why (at the address the job still holds, encrypted).
Then the job's identifiers are blanked; a held remainder is erased once its hold is released.
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
from privacy.data.ledger import ledger_area_done, ledger_complete, ledger_entry_open
from privacy.data.legal_holds import HoldScope, hold_description, holds_by_id
from privacy.data.models import ErasureJob, ErasureStatus, ErasureTask, ErasureTaskStatus
from privacy.data.registry import registry
from privacy.data.reporting import report_progress, report_to_request
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


def _staff() -> list[str]:
    recipients = list(settings.OPS_ALERT_EMAILS)
    officer = getattr(settings, "PRIVACY_OFFICER_EMAIL", "")
    if officer and officer not in recipients:
        recipients.append(officer)
    return recipients


def _alert_staff(job: ErasureJob, task: ErasureTask) -> None:
    recipients = _staff()
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


def _run_task(job: ErasureJob, task: ErasureTask, subject: Subject, holds: HoldScope, now) -> None:
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
        ledger_entry_open(job=job, subject=subject)  # the ledger knows before the main database changes
        with transaction.atomic():
            counts = erase_area(area=task.area, subject=subject, holds=holds)
            task.attempts += 1
            held = bool(counts.held) or bool(holds.person_holds(task.area))
            task.status = ErasureTaskStatus.ON_HOLD if held else ErasureTaskStatus.DONE
            task.rows_found = counts.found + counts.held
            task.rows_changed += counts.changed
            task.rows_held = counts.held
            task.held_by = sorted(counts.held_by | {hold.pk for hold in holds.person_holds(task.area)})
            task.last_error = ""
            task.next_attempt_at = None
            task.finished_at = None if held else timezone.now()
            task.save()
    except ErasureDeferred as exc:
        task.status = ErasureTaskStatus.RETRYING
        task.last_error = str(exc)
        task.next_attempt_at = now + timedelta(minutes=5)
        task.save(update_fields=["status", "last_error", "next_attempt_at"])
        return
    except Exception as exc:  # any failure must land on the task, visible and retried, never lost
        logger.exception("erasure %s area %s failed", job.pk, task.area)
        task.refresh_from_db(fields=["attempts", "rows_changed"])
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
        else:
            report_progress(
                job,
                step=FulfilmentStepKind.ERASURE,
                progress=(
                    f"{task.get_area_display()} area failing (attempt {task.attempts} of "
                    f"{settings.PRIVACY_ERASURE_MAX_ATTEMPTS}): {task.last_error}"
                ),
                next_attempt_at=task.next_attempt_at,
            )
        return
    if task.status == ErasureTaskStatus.DONE:
        ledger_area_done(job=job, area=task.area)


def _due(task: ErasureTask, now) -> bool:
    if task.status in (ErasureTaskStatus.PENDING, ErasureTaskStatus.ON_HOLD):
        return True  # a held area runs again each time: what the hold no longer covers is erased
    return task.status == ErasureTaskStatus.RETRYING and (task.next_attempt_at is None or task.next_attempt_at <= now)


def erasure_job_run(*, job_id: int, now=None) -> ErasureJob:
    """Run what is due of one erasure job. Safe to call again at any time (the scheduler does)."""
    now = now or timezone.now()
    with transaction.atomic():
        job = ErasureJob.objects.select_for_update().get(pk=job_id)
        if job.status in (ErasureStatus.DONE, ErasureStatus.CANCELLED) or job.erase_after > now:
            return job
        if job.status == ErasureStatus.SCHEDULED:
            job.status = ErasureStatus.RUNNING
            job.started_at = job.started_at or now
            job.save(update_fields=["status", "started_at"])
    subject = subject_for_job(job)
    holds = HoldScope.for_subject(subject)
    tasks = {task.area: task for task in job.tasks.all()}
    for area in AREA_ORDER:
        task = tasks[area]
        if area == ErasureArea.PRIVACY and not all(
            t.status in SETTLED for a, t in tasks.items() if a != ErasureArea.PRIVACY
        ):
            break  # the request's own record goes last, once everything else is erased or held
        if _due(task, now):
            _run_task(job, task, subject, holds, now)
    return _finish_if_settled(job, tasks, subject)


SETTLED = (ErasureTaskStatus.DONE, ErasureTaskStatus.ON_HOLD)


def completion_note(tasks: dict[str, ErasureTask]) -> str:
    """What the person is told: erased, and what was kept and on which ground."""
    lines = ["Your personal data was erased."]
    billing = tasks.get(ErasureArea.BILLING)
    if billing is not None and billing.rows_found:
        grounds = sorted(
            {ground for entry in registry().entries_in_area(ErasureArea.BILLING) for ground in entry.kept.values()}
        )
        lines.append(
            "Billing records (amounts, dates and the organization) were kept without your name and contact details, "
            "because the law requires it: " + " ".join(grounds)
        )
    held_ids = {pk for task in tasks.values() for pk in task.held_by}
    if held_ids:
        kept = "; ".join(hold_description(hold) for hold in holds_by_id(held_ids))
        lines.append(
            f"We kept, under a legal hold: {kept}. Everything else was erased; what is held will be erased when the "
            "hold ends."
        )
    return "\n\n".join(lines)


def _alert_hold(job: ErasureJob, tasks: dict[str, ErasureTask]) -> None:
    """Tell staff, once per hold, that a legal hold keeps part of this person's data."""
    held = {pk for task in tasks.values() for pk in task.held_by}
    new = sorted(held - set(job.hold_alerted_for))
    if not new:
        return
    job.hold_alerted_for = sorted(set(job.hold_alerted_for) | held)
    job.save(update_fields=["hold_alerted_for"])
    areas = ", ".join(f"{t.area} ({t.rows_held} rows)" for t in tasks.values() if t.status == ErasureTaskStatus.ON_HOLD)
    holds = "\n".join(f"- hold #{hold.pk}: {hold.reason}" for hold in holds_by_id(new))
    audit_log_record(event_type="privacy.erasure_held", target=job, extra={"holds": new})
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Erasure #{job.pk}: a legal hold keeps part of the data",
            message=(
                f"Erasure #{job.pk} erased everything it could. A legal hold stops the rest:\n{holds}\n\n"
                f"Held areas: {areas}.\nThey are erased at the first run after the hold is released: "
                f"{_admin_url(job)}\n"
            ),
            from_email=None,
            recipient_list=_staff(),
            fail_silently=True,
        )
    )


@transaction.atomic
def _finish_if_settled(job: ErasureJob, tasks: dict[str, ErasureTask], subject: Subject) -> ErasureJob:
    job = ErasureJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ErasureStatus.DONE, ErasureStatus.CANCELLED):
        return job  # another run finished it meanwhile
    statuses = {task.status for task in tasks.values()}
    if statuses <= set(SETTLED):
        held = ErasureTaskStatus.ON_HOLD in statuses
        if held:
            _alert_hold(job, tasks)
            if job.status != ErasureStatus.ON_HOLD:
                job.status = ErasureStatus.ON_HOLD
                job.save(update_fields=["status"])
                audit_log_record(
                    event_type="privacy.erasure_on_hold", target=job, extra={"holds": job.hold_alerted_for}
                )
        # Every area is erased or held: the request completes now, and the person is told at the address the job
        # still holds (the request's own copy is erased). A repeated report changes nothing.
        report_to_request(
            job,
            step=FulfilmentStepKind.ERASURE,
            status=StepStatus.SUCCEEDED,
            note=completion_note(tasks),
            deliver_to=subject.email,
        )
        if held:
            return job
        ledger_complete(job=job)
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
