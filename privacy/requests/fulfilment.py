"""Fulfilling a verified request: staff run its export, erasure, objections or corrections from admin.

The work on personal data belongs to `privacy.data`; this module hands it the request's subject. A phone number
reaches export, erasure or objection only once the requester proved it is theirs (`proven_phone_number`). Every
step reports back through `privacy.requests.reporting.fulfilment_report`: the export and the erasure as they run
in the background, objections and corrections at once.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record, user_update_profile
from portal.errors import ApplicationError, Conflict
from privacy.data.erasure import erasure_job_create
from privacy.data.export import export_create
from privacy.data.models import DataExport, ErasureJob, ProcessingKind, SubjectKind, SuppressionSource
from privacy.data.objections import processing_objection_add, suppression_add
from privacy.requests.correspondence import NPC_COMPLAINT_NOTICE, message_queue
from privacy.requests.intake import SMS_OBJECTION, objection_choices
from privacy.requests.models import (
    DataSubjectRequest,
    FulfilmentStepKind,
    RequestKind,
    RequestStatus,
    StepStatus,
)
from privacy.requests.phone_proof import proven_phone_number
from privacy.requests.reporting import fulfilment_report, step_start
from privacy.requests.workflow import InvalidTransition, event_record, request_lock, require_staff, transition

# --- handing the request to the data side ---


def _subject_kind(request) -> str:
    return SubjectKind.USER if request.user_id else SubjectKind.RECIPIENT


def export_start(*, request, actor=None) -> DataExport:
    """Start building the requester's export in the background; the link is e-mailed when it is ready."""
    user = request.user if request.user_id else None
    return export_create(
        subject_kind=_subject_kind(request),
        user=user,
        email=request.email,
        # Messages to the requester's number are theirs too, once the number is proven theirs.
        phone_number=proven_phone_number(request),
        request_id=request.pk,
        actor=actor,
    )


def erasure_mark(*, request, actor=None) -> ErasureJob:
    """Mark the requester for erasure; the scheduler erases after PRIVACY_ERASURE_GRACE_HOURS."""
    user = request.user if request.user_id else None
    return erasure_job_create(
        subject_kind=_subject_kind(request),
        user=user,
        # The account's own address is the one its data is filed under; the request's is used without an account.
        email=user.email if user is not None else request.email,
        phone_number=proven_phone_number(request),
        request_id=request.pk,
        actor=actor,
    )


@transaction.atomic
def objection_apply(*, request, actor=None) -> None:
    """Record each objection of an object request: "sms" becomes a suppression, the rest per-person
    switches."""
    objections = list(request.objections or [])
    if not objections:
        raise ApplicationError("The request names no processing to object to.", code="invalid_objections")
    for objection in objections:
        if objection == SMS_OBJECTION:
            phone = proven_phone_number(request)
            if not phone:
                if request.phone_number or (request.user_id and request.user.phone_number):
                    raise Conflict(
                        "The requester has not proven the phone number is theirs: verify the request by SMS code, "
                        "or record a staff check of the number, before stopping SMS to it.",
                        code="phone_not_proven",
                    )
                raise Conflict(
                    "The objection to SMS needs the requester's phone number; ask for it first.",
                    code="no_phone",
                )
            suppression_add(phone_number=phone, source=SuppressionSource.REQUEST, actor=actor)
        elif objection in ProcessingKind.values:
            if not request.user_id:
                raise Conflict(
                    f"The objection to {objection} applies to a portal account, and none is linked to this request.",
                    code="no_account",
                )
            processing_objection_add(user=request.user, processing=objection, actor=actor)
        else:
            raise ApplicationError(f"Unknown objection {objection!r}.", code="invalid_objections")


# --- the steps staff run ---


def _ensure_in_progress(request: DataSubjectRequest, *, actor, action: str) -> None:
    if request.status == RequestStatus.VERIFIED:
        transition(request, to=RequestStatus.IN_PROGRESS, actor=actor, action="started", note=action)
    elif request.status != RequestStatus.IN_PROGRESS:
        raise InvalidTransition(
            f"{request.reference} is {request.get_status_display().lower()}; verify it (or wait for the "
            "requester) first."
        )


def _require_kind(request: DataSubjectRequest, kind: str) -> None:
    if request.kind != kind:
        raise Conflict(f"{request.reference} is an {request.kind} request, not {kind}.", code="wrong_request_kind")


@transaction.atomic
def request_run_export(*, request: DataSubjectRequest, actor: User):
    require_staff(actor)
    request = request_lock(request)
    _require_kind(request, RequestKind.ACCESS)
    _ensure_in_progress(request, actor=actor, action="export_started")
    step_start(request, FulfilmentStepKind.EXPORT)
    request.needs_attention = False
    request.last_error = ""
    request.save(update_fields=["needs_attention", "last_error", "updated_at"])
    export = export_start(request=request, actor=actor)
    event_record(request, action="export_started", actor=actor, note=f"Export #{export.pk}")
    return export


@transaction.atomic
def request_run_erasure(*, request: DataSubjectRequest, actor: User):
    require_staff(actor)
    request = request_lock(request)
    _require_kind(request, RequestKind.DELETE)
    _ensure_in_progress(request, actor=actor, action="erasure_started")
    step_start(request, FulfilmentStepKind.ERASURE)
    request.needs_attention = False
    request.last_error = ""
    request.save(update_fields=["needs_attention", "last_error", "updated_at"])
    job = erasure_mark(request=request, actor=actor)
    event_record(request, action="erasure_marked", actor=actor, note=f"Erasure job #{job.pk}")
    # The substantive answer: what will happen and when. The request completes by itself when the erasure
    # reports success, which it does before it erases this request's own contact details, so the confirmation
    # still arrives.
    request.first_response_at = request.first_response_at or timezone.now()
    request.save(update_fields=["first_response_at", "updated_at"])
    erase_after = getattr(job, "erase_after", None)
    when = f" after {timezone.localtime(erase_after):%d %B %Y %H:%M} (Philippine time)" if erase_after else ""
    message_queue(
        request,
        kind="erasure_scheduled",
        subject="Your personal data will be erased",
        body=(
            f"We accepted your deletion request {request.reference}. Your personal data will be "
            f"erased{when}.\n\n"
            "Records the law requires us to keep (billing) are stripped of everything else and deleted when "
            "their "
            "retention period ends. We confirm by e-mail when it is done; after that we no longer hold your "
            f"address.\n\n{NPC_COMPLAINT_NOTICE}\n"
        ),
        actor=actor,
    )
    return job


@transaction.atomic
def request_apply_objections(*, request: DataSubjectRequest, actor: User) -> DataSubjectRequest:
    require_staff(actor)
    request = request_lock(request)
    _require_kind(request, RequestKind.OBJECT)
    _ensure_in_progress(request, actor=actor, action="objections_applied")
    objection_apply(request=request, actor=actor)
    event_record(request, action="objections_applied", actor=actor, note=", ".join(request.objections))
    fulfilment_report(
        request_id=request.pk,
        step=FulfilmentStepKind.OBJECTION,
        status=StepStatus.SUCCEEDED,
        actor=actor,
        note="We recorded your objection to: "
        + ", ".join(dict(objection_choices()).get(o, o) for o in request.objections)
        + ".",
    )
    request.refresh_from_db()
    return request


@transaction.atomic
def request_apply_updates(*, request: DataSubjectRequest, actor: User) -> DataSubjectRequest:
    """Apply an update request's changes to the account in one audited action, then complete the request."""
    require_staff(actor)
    request = request_lock(request)
    _require_kind(request, RequestKind.UPDATE)
    if request.user is None:
        raise Conflict(
            "No portal account is linked to this request: correct the data where it lives, add evidence, "
            "then "
            "complete the request with a note.",
            code="no_account",
        )
    _ensure_in_progress(request, actor=actor, action="updates_applied")
    user = User.objects.select_for_update().get(pk=request.user_id)
    changes = request.requested_changes
    before = {"full_name": user.full_name, "phone_number": user.phone_number, "email": user.email}
    if "full_name" in changes or "phone_number" in changes:
        user_update_profile(
            user=user,
            full_name=changes.get("full_name", user.full_name),
            phone_number=changes.get("phone_number", user.phone_number),
        )
    if "email" in changes and changes["email"].lower() != user.email.lower():
        user_email_change_by_staff(user=user, actor=actor, email=changes["email"], request=request)
    after = {"full_name": user.full_name, "phone_number": user.phone_number, "email": user.email}
    audit_log_record(
        event_type="privacy.request.updates_applied",
        actor=actor,
        target=user,
        extra={"request": request.pk, "before": before, "after": after},
    )
    note = "We corrected: " + ", ".join(f for f in ("full_name", "phone_number", "email") if before[f] != after[f])
    if "other" in changes:
        note += f". Other corrections you asked for are noted by staff: {changes['other']}"
    event_record(request, action="updates_applied", actor=actor, note=note)
    fulfilment_report(
        request_id=request.pk, step=FulfilmentStepKind.UPDATE, status=StepStatus.SUCCEEDED, actor=actor, note=note
    )
    request.refresh_from_db()
    return request


def user_email_change_by_staff(*, user: User, actor: User, email: str, request: DataSubjectRequest) -> User:
    """A verified requester's new e-mail replaces the sign-in address (allauth's address row follows)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise Conflict(f"{email} already belongs to another account.", code="email_taken")
    old = user.email
    user.email = email
    user.save(update_fields=["email"])
    EmailAddress.objects.filter(user=user).delete()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    audit_log_record(
        event_type="user.email_changed_by_staff",
        actor=actor,
        target=user,
        extra={"from": old, "to": email, "request": request.pk},
    )
    return user
