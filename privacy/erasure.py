"""Erasure: mark, wait out the grace period, then erase one data area at a time; ledger, replay, legal holds.

    erasure_mark ──> ErasureJob(scheduled, erase_after = now + PRIVACY_ERASURE_GRACE_HOURS)
    erasures_run_due (every few minutes) ──> erasure_job_run(job):
        legal hold on the person or one of their organizations ──> on_hold (tasks on_hold) until released
        for each area (exports, messages, logs, billing, accounts): ErasureTask pending ──> done | retrying ──> failed
        all done ──> the request's "erasure" step succeeds (completion e-mail) ──> privacy area ──> job done,
                     ledger entry (hashes only), identifiers blanked from the job

What to do with each table comes from the registry (`<app>/personal_data.py`): the area code only adds what is not
a column rule — closing organizations the person solely owns, deleting their sessions, deleting export files.
Each area runs in its own transaction: it is done completely or not at all, and a failure is recorded on its
ErasureTask (attempts, error, next try with backoff), e-mailed to staff, and shown in admin.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Membership, Organization, OrganizationStatus, User
from accounts.roles import Role
from accounts.services import audit_log_record, organization_close
from portal.crypto import keyed_hash
from portal.errors import ApplicationError, Conflict, NotFound
from portal.personal_data import By, Erase, ErasureArea, Finder, PersonalData, Strategy
from privacy.data_models import (
    EMAIL_HASH_PURPOSE,
    PHONE_HASH_PURPOSE,
    DataExport,
    ErasureJob,
    ErasureLedgerEntry,
    ErasureStatus,
    ErasureTask,
    ErasureTaskStatus,
    LegalHold,
    SubjectKind,
)
from privacy.objections import canonical_phone
from privacy.registry import registry

logger = logging.getLogger(__name__)

ERASED_HASH_PURPOSE = "privacy.erased"
SCRUB_REPLACEMENT = "[erased]"
BATCH_SIZE = 500

# Privacy records go last: the request's completion e-mail must be sent before its address is erased.
AREA_ORDER = [
    ErasureArea.EXPORTS,
    ErasureArea.MESSAGES,
    ErasureArea.LOGS,
    ErasureArea.BILLING,
    ErasureArea.ACCOUNTS,
    ErasureArea.PRIVACY,
]


class ErasureDeferred(Exception):
    """The area cannot run yet for a reason that is not a failure (it does not count as an attempt)."""


# --- the person being erased ---


@dataclass(frozen=True)
class Subject:
    user_id: int | None = None
    email: str = ""
    phone: str = ""  # E.164

    @classmethod
    def build(cls, *, user_id: int | None, email: str = "", phone: str = "") -> Subject:
        return cls(
            user_id=user_id,
            email=(email or "").strip().lower(),
            phone=canonical_phone(phone) if (phone or "").strip() else "",
        )

    @property
    def email_hash(self) -> str:
        return keyed_hash(self.email, purpose=EMAIL_HASH_PURPOSE) if self.email else ""

    @property
    def phone_hash(self) -> str:
        return keyed_hash(self.phone, purpose=PHONE_HASH_PURPOSE) if self.phone else ""

    def phone_variants(self) -> list[str]:
        """How the number may be written in a column: +639171234567, 639171234567, 09171234567."""
        if not self.phone:
            return []
        variants = [self.phone]
        if self.phone.startswith("+"):
            variants.append(self.phone[1:])
        if self.phone.startswith("+63"):
            variants.append("0" + self.phone[3:])
        return variants

    def identifiers(self) -> list[str]:
        """Strings that must not survive anywhere, longest first (so a variant inside another is replaced
        once)."""
        return sorted({value for value in [self.email, *self.phone_variants()] if value}, key=len, reverse=True)


def _finder_q(finder: Finder, subject: Subject) -> Q | None:
    if finder.by == By.USER:
        if subject.user_id is None:
            return None
        key = f"{finder.path}__{finder.lookup}" if finder.lookup else finder.path
        return Q(**{key: subject.user_id})
    if finder.by == By.EMAIL:
        if not subject.email:
            return None
        return Q(**{f"{finder.path}__{finder.lookup or 'iexact'}": subject.email})
    if finder.by == By.PHONE:
        variants = subject.phone_variants()
        if not variants:
            return None
        if not finder.lookup or finder.lookup == "in":
            return Q(**{f"{finder.path}__in": variants})
        query = Q()
        for variant in variants:
            query |= Q(**{f"{finder.path}__{finder.lookup}": variant})
        return query
    if finder.by == By.PHONE_HASH:
        return Q(**{finder.path: subject.phone_hash}) if subject.phone else None
    if finder.by == By.EMAIL_HASH:
        return Q(**{finder.path: subject.email_hash}) if subject.email else None
    raise ValueError(f"Unknown finder kind {finder.by!r}")


def finder_queryset(entry: PersonalData, finder: Finder, subject: Subject) -> models.QuerySet | None:
    query = _finder_q(finder, subject)
    if query is None:
        return None
    model = entry.model_class
    qs = model._base_manager.filter(query)
    if "__" in finder.path:
        qs = qs.distinct()
    return qs


# --- applying a column rule ---


def _empty_value(model_field: models.Field) -> Any:
    if model_field.null:
        return None
    if isinstance(model_field, models.JSONField):
        default = model_field.get_default()
        return type(default)() if isinstance(default, dict | list) else {}
    if isinstance(model_field, models.CharField | models.TextField):
        return ""
    raise ValueError(f"{model_field.model._meta.label}.{model_field.name} cannot be emptied (not null, not text)")


def erased_hash(value: str, *, max_length: int | None) -> str:
    """A pseudonym for an erased value: equal inputs stay equal (counts, joins), the input is not
    recoverable."""
    digest = keyed_hash(value, purpose=ERASED_HASH_PURPOSE)
    prefix = "h:"
    width = len(digest) if max_length is None else max(8, min(len(digest), max_length - len(prefix)))
    return prefix + digest[:width]


def scrub(value: Any, identifiers: Iterable[str]) -> Any:
    """Remove every identifier from a string, or from every string (keys too) inside JSON data."""
    patterns = [re.compile(re.escape(identifier), re.IGNORECASE) for identifier in identifiers if identifier]
    if not patterns:
        return value

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            for pattern in patterns:
                item = pattern.sub(SCRUB_REPLACEMENT, item)
            return item
        if isinstance(item, dict):
            return {clean(key): clean(val) for key, val in item.items()}
        if isinstance(item, list):
            return [clean(val) for val in item]
        return item

    return clean(value)


def _row_value(model_field: models.Field, rule: Erase, obj: models.Model, subject: Subject) -> Any:
    current = getattr(obj, model_field.attname)
    if rule.strategy == Strategy.HASH:
        if current in (None, ""):
            return current
        if isinstance(current, str) and current.startswith("h:"):
            return current
        text = subject.phone if subject.phone and current in subject.phone_variants() else current
        return erased_hash(str(text), max_length=getattr(model_field, "max_length", None))
    if rule.strategy == Strategy.SCRUB:
        return scrub(current, subject.identifiers())
    if rule.strategy == Strategy.CONSTANT:
        return rule.value.format(pk=obj.pk)
    raise ValueError(rule.strategy)


@dataclass
class Counts:
    found: int = 0
    changed: int = 0

    def add(self, other: Counts) -> None:
        self.found += other.found
        self.changed += other.changed


def _pk_batches(qs: models.QuerySet, batch_size: int = BATCH_SIZE):
    """Primary keys in ascending batches (keyset pagination): bounded memory, safe while rows change or go."""
    last = None
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        pks = list(page.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        yield pks
        last = pks[-1]


def apply_finder(entry: PersonalData, finder: Finder, subject: Subject) -> Counts:
    qs = finder_queryset(entry, finder, subject)
    if qs is None:
        return Counts()
    model = entry.model_class
    counts = Counts()
    if isinstance(finder.erase, Erase):
        if finder.erase.strategy != Strategy.DELETE_ROW:
            raise ValueError(f"{entry.model}: a whole-row rule must be DELETE_ROW")
        for pks in _pk_batches(qs):
            counts.found += len(pks)
            model._base_manager.filter(pk__in=pks).delete()
            counts.changed += len(pks)
        return counts
    bulk: dict[str, Any] = {}
    per_row: dict[models.Field, Erase] = {}
    for name, rule in finder.erase_fields().items():
        model_field = model._meta.get_field(name)
        if rule.strategy == Strategy.KEEP:
            continue
        if rule.strategy == Strategy.NULL:
            bulk[model_field.attname] = _empty_value(model_field)
        elif rule.strategy == Strategy.CONSTANT and not (isinstance(rule.value, str) and "{pk}" in rule.value):
            bulk[model_field.attname] = rule.value
        elif rule.strategy == Strategy.DELETE_ROW:
            raise ValueError(f"{entry.model}.{name}: DELETE_ROW applies to rows, not fields")
        else:
            per_row[model_field] = rule
    for pks in _pk_batches(qs):
        counts.found += len(pks)
        if not bulk and not per_row:
            continue
        if per_row:
            objs = list(model._base_manager.filter(pk__in=pks).only("pk", *[f.name for f in per_row]))
            for obj in objs:
                for model_field, rule in per_row.items():
                    setattr(obj, model_field.attname, _row_value(model_field, rule, obj, subject))
            model._base_manager.bulk_update(objs, [f.name for f in per_row])
        if bulk:
            model._base_manager.filter(pk__in=pks).update(**bulk)
        counts.changed += len(pks)
    return counts


# --- the areas ---


def _close_solely_owned_organizations(subject: Subject) -> Counts:
    """An organization whose only owner is the person is closed: keys revoked, members removed, billing
    kept."""
    if subject.user_id is None:
        return Counts()
    owned = Membership.objects.filter(user_id=subject.user_id, role=Role.OWNER).values_list(
        "organization_id", flat=True
    )
    other_owners = Membership.objects.filter(organization_id__in=owned, role=Role.OWNER).exclude(
        user_id=subject.user_id
    )
    sole = Organization.objects.filter(pk__in=owned).exclude(status=OrganizationStatus.CLOSED)
    sole = sole.exclude(pk__in=other_owners.values("organization_id"))
    counts = Counts()
    for organization in sole:
        counts.found += 1
        organization_close(
            organization=organization,
            actor_membership=None,
            reason="Closed: its sole owner's data was erased",
        )
        counts.changed += 1
    return counts


def _delete_sessions(subject: Subject) -> Counts:
    """Sign the person out everywhere: database sessions carry the user id only inside their encoded data."""
    from django.contrib.sessions.models import Session

    if subject.user_id is None or settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    ):
        return Counts()
    target = str(subject.user_id)
    keys = []
    for session in Session.objects.all().iterator(chunk_size=BATCH_SIZE):
        if str(session.get_decoded().get("_auth_user_id", "")) == target:
            keys.append(session.session_key)
    if keys:
        from importlib import import_module

        store = import_module(settings.SESSION_ENGINE).SessionStore
        for key in keys:
            store(session_key=key).delete()  # also clears a cached_db copy
    return Counts(found=len(keys), changed=len(keys))


def _delete_export_files(subject: Subject) -> Counts:
    from privacy.export import export_file_delete

    query = Q(pk__in=[])
    if subject.user_id is not None:
        query |= Q(user_id=subject.user_id)
    if subject.email:
        query |= Q(email__iexact=subject.email)
    if subject.phone:
        query |= Q(phone_number__in=subject.phone_variants())
    counts = Counts()
    for export in DataExport.objects.filter(query).exclude(file_name="").iterator(chunk_size=BATCH_SIZE):
        counts.found += 1
        export_file_delete(export=export)
        counts.changed += 1
    return counts


def _correspondence_pending(subject: Subject) -> bool:
    """True while an e-mail about the person's request is still waiting to be sent (it needs their
    address)."""
    from privacy.models import RequestMessage

    query = Q(pk__in=[])
    if subject.user_id is not None:
        query |= Q(request__user_id=subject.user_id)
    if subject.email:
        query |= Q(request__email__iexact=subject.email)
    recent = timezone.now() - timedelta(days=1)
    return RequestMessage.objects.filter(query, sent_at__isnull=True, error="", created_at__gte=recent).exists()


AREA_HOOKS: dict[str, list[Callable[[Subject], Counts]]] = {
    ErasureArea.EXPORTS: [_delete_export_files],
    ErasureArea.ACCOUNTS: [_close_solely_owned_organizations, _delete_sessions],
}


def erase_area(*, area: str, subject: Subject) -> Counts:
    """Erase one area for one person, in one transaction. Idempotent: a second run finds nothing left to
    change."""
    counts = Counts()
    with transaction.atomic():
        for hook in AREA_HOOKS.get(area, []):
            counts.add(hook(subject))
        for entry in registry().entries_in_area(area):
            for finder in entry.finders:
                counts.add(apply_finder(entry, finder, subject))
    return counts


# --- legal holds ---


def _subject_organization_ids(subject: Subject) -> set[int]:
    from messaging.models import Message

    ids: set[int] = set()
    if subject.user_id is not None:
        ids |= set(Membership.objects.filter(user_id=subject.user_id).values_list("organization_id", flat=True))
    if subject.phone:
        ids |= set(
            Message.objects.filter(recipient__in=subject.phone_variants())
            .values_list("organization_id", flat=True)
            .distinct()
        )
    return ids


def holds_for(subject: Subject) -> list[LegalHold]:
    hashes = [value for value in (subject.email_hash, subject.phone_hash) if value]
    query = Q(subject_hash__in=hashes) if hashes else Q(pk__in=[])
    organization_ids = _subject_organization_ids(subject)
    if organization_ids:
        query |= Q(organization_id__in=organization_ids)
    return list(LegalHold.objects.filter(query, released_at__isnull=True))


@transaction.atomic
def legal_hold_place(
    *,
    reason: str,
    actor: User | None,
    email: str = "",
    phone_number: str = "",
    organization: Organization | None = None,
) -> LegalHold:
    """Hold a person (by e-mail or number; only the keyed hash is stored) or an organization."""
    if not (reason or "").strip():
        raise ApplicationError("A legal hold needs a reason.", code="reason_required")
    subject = Subject.build(user_id=None, email=email, phone=phone_number)
    if bool(subject.email) + bool(subject.phone) + (organization is not None) != 1:
        raise ApplicationError(
            "A legal hold names exactly one of: an e-mail address, a phone number, an organization.",
            code="invalid_hold",
        )
    hold = LegalHold.objects.create(
        subject_hash=subject.email_hash or subject.phone_hash,
        organization=organization,
        reason=reason.strip(),
        placed_by=actor,
    )
    audit_log_record(event_type="privacy.legal_hold_placed", organization=organization, actor=actor, target=hold)
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: User | None) -> LegalHold:
    hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is None:
        hold.released_at = timezone.now()
        hold.released_by = actor
        hold.save(update_fields=["released_at", "released_by"])
        audit_log_record(
            event_type="privacy.legal_hold_released", organization=hold.organization, actor=actor, target=hold
        )
        # Erasures waiting for this hold go on at the next scheduler run (erasures_run_due).
    return hold


# --- marking and running ---


def subject_for_job(job: ErasureJob) -> Subject:
    return Subject.build(user_id=job.user_id, email=job.email, phone=job.phone_number)


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


def _report(job: ErasureJob, *, status: str, error: str = "") -> None:
    """Tell the request workflow (privacy-requests) how the erasure step stands; never stops the erasure
    itself."""
    if job.request_id is None:
        return
    from privacy.services import request_fulfilment_update

    try:
        request_fulfilment_update(request_id=job.request_id, step="erasure", status=status, error=error)
    except Exception as exc:  # the erasure's own state is the truth; a reporting problem is logged for staff
        logger.exception("erasure %s: could not report %s to request %s", job.pk, status, job.request_id)
        audit_log_record(
            event_type="privacy.fulfilment_report_failed",
            target=job,
            extra={
                "request": job.request_id,
                "status": status,
                "error": f"{type(exc).__name__}: {exc}"[:500],
            },
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
        if task.area == ErasureArea.PRIVACY and _correspondence_pending(subject):
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
                _report(job, status="succeeded")
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
        _report(job, status="failed", error="; ".join(f"{t.area}: {t.last_error}" for t in failed))
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
    if job.request_id is not None:
        transaction.on_commit(partial(_report, job, status="running"))
    from privacy.data_tasks import erasure_job_run_task

    transaction.on_commit(partial(erasure_job_run_task.enqueue, job_id=job.pk))
    return retried


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


# --- replay after a backup restore ---


@dataclass
class ReplayResult:
    subjects: int = 0
    held: int = 0
    per_area: dict[str, Counts] = field(default_factory=dict)


def _matching_values(entry: PersonalData, finder: Finder, wanted: set[str], purpose: str, normalise) -> set[str]:
    """Distinct values of a finder's column whose keyed hash is in `wanted` (read as a stream)."""
    model = entry.model_class
    found = set()
    values = (
        model._base_manager.exclude(**{finder.path: ""})
        .exclude(**{f"{finder.path}__isnull": True})
        .values_list(finder.path, flat=True)
        .distinct()
        .order_by()
    )
    for value in values.iterator(chunk_size=2000):
        if keyed_hash(normalise(value), purpose=purpose) in wanted:
            found.add(normalise(value))
    return found


def erasures_replay() -> ReplayResult:
    """Re-apply every erasure in the ledger (after a backup restore brought people back). Idempotent."""
    ledger = ErasureLedgerEntry.objects.all()
    email_hashes = set(ledger.exclude(email_hash="").values_list("email_hash", flat=True))
    phone_hashes = set(ledger.exclude(phone_hash="").values_list("phone_hash", flat=True))
    result = ReplayResult()
    if not email_hashes and not phone_hashes:
        return result
    emails: set[str] = set()
    phones: set[str] = set()
    for entry in registry().available():
        for finder in entry.finders:
            if finder.lookup or "__" in finder.path:
                # Free-text finders cannot be enumerated; related paths repeat a column found directly.
                continue
            if finder.by == By.EMAIL and email_hashes:
                emails |= _matching_values(entry, finder, email_hashes, EMAIL_HASH_PURPOSE, lambda v: v.strip().lower())
            elif finder.by == By.PHONE and phone_hashes:
                phones |= _matching_values(entry, finder, phone_hashes, PHONE_HASH_PURPOSE, canonical_phone)
    subjects: list[Subject] = []
    users_by_email = dict(User.objects.filter(email__in=list(emails)).values_list("email", "pk")) if emails else {}
    for email in emails:
        subjects.append(Subject.build(user_id=users_by_email.get(email), email=email))
    for phone in phones:
        subjects.append(Subject.build(user_id=None, phone=phone))
    for subject in subjects:
        if holds_for(subject):
            result.held += 1
            continue
        result.subjects += 1
        for area in AREA_ORDER:
            result.per_area.setdefault(area, Counts()).add(erase_area(area=area, subject=subject))
    ledger.update(last_replayed_at=timezone.now())
    if result.subjects:
        audit_log_record(
            event_type="privacy.erasures_replayed",
            extra={"subjects": result.subjects, "held": result.held},
        )
    return result


def erasure_job_get(*, job_id: int) -> ErasureJob:
    job = ErasureJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such erasure.")
    return job
