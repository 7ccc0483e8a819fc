"""What the privacy team does with a request: verify it, record one received by letter, assign, start, write,
ask the requester, resume, extend, complete, reject, add evidence. Each is staff-only, one transaction, and leaves
a `RequestEvent` (and, where the requester must be told, a logged e-mail)."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from portal.errors import ApplicationError, Conflict
from privacy.requests.correspondence import NPC_COMPLAINT_NOTICE, deadline_day, message_queue
from privacy.requests.intake import request_submit, verify
from privacy.requests.models import (
    OPEN_STATUSES,
    ActorLabel,
    DataSubjectRequest,
    RequestChannel,
    RequestEvidence,
    RequestKind,
    RequestMessage,
    RequestStatus,
    StepStatus,
    VerificationMethod,
)
from privacy.requests.workflow import (
    TRANSITIONS,
    InvalidTransition,
    due_refresh,
    event_record,
    live_due_at,
    request_lock,
    require_staff,
    transition,
)

# The placeholder address a request gets once its contact details are erased (`privacy/personal_data.py`).
ERASED_EMAIL_SUFFIX = "@erased.invalid"


@transaction.atomic
def request_verify_by_staff(*, request: DataSubjectRequest, actor: User, note: str) -> DataSubjectRequest:
    require_staff(actor)
    if not note.strip():
        raise ApplicationError("Say how the identity was checked.", code="note_required")
    request = request_lock(request)
    request.verification_method = VerificationMethod.STAFF
    return verify(request, actor=actor, note=note.strip())


def request_record_received(
    *,
    actor: User,
    kind: str,
    email: str,
    received_at: datetime,
    full_name: str = "",
    phone_number: str = "",
    details: str = "",
    objections: Iterable[str] | None = None,
    identity_note: str = "",
) -> DataSubjectRequest:
    """Staff type in a request that came by e-mail or letter. Its clock starts when it was received, not when it
    was typed in. With `identity_note` (how staff checked who sent it) it is verified at once; without, the
    requester confirms through the e-mailed link like any public request."""
    require_staff(actor)
    if timezone.is_naive(received_at):
        raise ApplicationError("Give the time it was received with its time zone.", code="invalid_received_at")
    if received_at > timezone.now():
        raise ApplicationError("A request cannot be received in the future.", code="invalid_received_at")
    with transaction.atomic():
        request, _token = request_submit(
            kind=kind,
            email=email,
            channel=RequestChannel.STAFF,
            full_name=full_name,
            phone_number=phone_number,
            details=details,
            objections=objections,
            verification_method=VerificationMethod.EMAIL,
            received_at=received_at,
        )
        event_record(request, action="recorded_by_staff", actor=actor, note=f"Received {received_at:%Y-%m-%d %H:%M %Z}")
        if identity_note.strip():
            request = request_verify_by_staff(request=request, actor=actor, note=identity_note)
    return request


@transaction.atomic
def request_assign(*, request: DataSubjectRequest, actor: User, assignee: User | None) -> DataSubjectRequest:
    require_staff(actor)
    if assignee is not None and not assignee.is_staff:
        raise ApplicationError(f"{assignee.email} is not staff; assign a member of the privacy team.", code="not_staff")
    request = request_lock(request)
    previous = request.assignee
    request.assignee = assignee
    request.save(update_fields=["assignee", "updated_at"])
    event_record(
        request,
        action="assigned",
        actor=actor,
        note=f"{previous.email if previous else 'nobody'} → {assignee.email if assignee else 'nobody'}",
    )
    return request


@transaction.atomic
def request_start(*, request: DataSubjectRequest, actor: User, note: str = "") -> DataSubjectRequest:
    require_staff(actor)
    return transition(request_lock(request), to=RequestStatus.IN_PROGRESS, actor=actor, note=note, action="started")


@transaction.atomic
def request_message_send(
    *, request: DataSubjectRequest, actor: User, subject: str, body: str, substantive: bool = True
) -> RequestMessage:
    """Staff write to the requester; a substantive answer meets the NPC's 15-day first-response mark."""
    require_staff(actor)
    if not body.strip():
        raise ApplicationError("The message is empty.", code="body_required")
    request = request_lock(request)
    message = message_queue(request, kind="answer", subject=subject or "About your request", body=body, actor=actor)
    if substantive and request.first_response_at is None:
        request.first_response_at = timezone.now()
        request.save(update_fields=["first_response_at", "updated_at"])
    event_record(request, action="message_sent", actor=actor, note=subject)
    return message


@transaction.atomic
def request_ask_requester(*, request: DataSubjectRequest, actor: User, question: str) -> DataSubjectRequest:
    """Ask the requester something; the SLA clock pauses until they answer (the only pause the rules
    allow)."""
    require_staff(actor)
    if not question.strip():
        raise ApplicationError("Write the question for the requester.", code="question_required")
    request = request_lock(request)
    transition(request, to=RequestStatus.AWAITING_REQUESTER, actor=actor, note=question, action="asked_requester")
    message_queue(
        request,
        kind="question",
        subject="We need something from you",
        body=(
            f"To continue with your request {request.reference} we need the "
            f"following:\n\n{question.strip()}\n\n"
            "Answer on your request's status page (the link in our first e-mail) or by replying to this "
            "e-mail. "
            "The time we wait for your answer does not count towards our deadline.\n"
        ),
        actor=actor,
    )
    return request


@transaction.atomic
def request_ask_identity(*, request: DataSubjectRequest, actor: User, what: str) -> DataSubjectRequest:
    """Ask for proof of identity: the clock stops, and starts again from zero on the day the proof arrives (the
    requester answers on the status page, or staff resume the request when it came another way)."""
    require_staff(actor)
    if not what.strip():
        raise ApplicationError("Say what proof of identity is needed.", code="question_required")
    request = request_lock(request)
    request.awaiting_identity = True
    transition(request, to=RequestStatus.AWAITING_REQUESTER, actor=actor, note=what, action="asked_for_identity")
    message_queue(
        request,
        kind="identity_request",
        subject="We need proof of your identity",
        body=(
            f"Before we can continue with your request {request.reference} we need proof that you are the person "
            f"the data is about:\n\n{what.strip()}\n\n"
            "Send it on your request's status page (the link in our first e-mail) or by replying to this e-mail. "
            "Our deadline is paused until it arrives and starts again on that day; we will tell you the new date.\n"
        ),
        actor=actor,
    )
    return request


@transaction.atomic
def request_resume(*, request: DataSubjectRequest, actor: User, note: str) -> DataSubjectRequest:
    """Staff resume without an answer (e.g. the requester replied by phone); the note says why."""
    require_staff(actor)
    if not note.strip():
        raise ApplicationError("Say why the request resumes.", code="note_required")
    request = request_lock(request)
    if request.status != RequestStatus.AWAITING_REQUESTER:
        raise InvalidTransition("Only a request awaiting the requester can resume.")
    return transition(request, to=RequestStatus.IN_PROGRESS, actor=actor, note=note, action="resumed")


@transaction.atomic
def request_extend(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Extend once, with a reason, before the original deadline; the requester is told at that moment."""
    require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("An extension needs a reason; it is sent to the requester.", code="reason_required")
    request = request_lock(request)
    if not request.is_open:
        raise InvalidTransition("Only an open request can be extended.")
    if request.extended:
        raise Conflict(
            f"{request.reference} was already extended on {request.extended_at:%Y-%m-%d}.",
            code="already_extended",
        )
    now = timezone.now()
    original_due = live_due_at(request, now=now)
    if now >= original_due:
        raise Conflict(
            f"{request.reference} was due {deadline_day(original_due)}; an extension must be made before the deadline.",
            code="extension_too_late",
        )
    request.extended = True
    request.extension_reason = reason
    request.extended_at = now
    request.extended_by = actor
    due_refresh(request)
    request.save()
    new_due = live_due_at(request, now=now)
    event_record(request, action="extended", actor=actor, note=reason)
    audit_log_record(event_type="privacy.request.extended", actor=actor, target=request, extra={"reason": reason})
    message_queue(
        request,
        kind="extension",
        subject="We need more time for your request",
        body=(
            f"We need more time to answer your request {request.reference} completely.\n\nReason: "
            f"{reason}\n\n"
            f"It was due by {deadline_day(original_due)}; we will answer by {deadline_day(new_due)} at the "
            "latest.\n"
        ),
        actor=actor,
    )
    return request


def _close_duplicates(request: DataSubjectRequest, *, to: str, actor=None) -> None:
    for duplicate in request.duplicates.select_for_update().filter(status__in=OPEN_STATUSES):
        if to == RequestStatus.REJECTED:
            duplicate.rejection_reason = request.rejection_reason
        duplicate.resolution_note = f"Answered together with {request.reference}."
        target = to if to in TRANSITIONS.get(duplicate.status, set()) else RequestStatus.WITHDRAWN
        if target not in TRANSITIONS.get(duplicate.status, set()):
            continue
        transition(
            duplicate,
            to=target,
            actor=actor,
            note=f"Closed with {request.reference}",
            action="closed_with_original",
        )


def _answered(request: DataSubjectRequest) -> None:
    if request.first_response_at is None:
        request.first_response_at = timezone.now()


@transaction.atomic
def request_complete(
    *, request: DataSubjectRequest, actor: User | None, note: str = "", actor_label: str = "", deliver_to: str = ""
) -> DataSubjectRequest:
    """Complete and tell the requester. `deliver_to`: their address, when an erasure already erased the request's
    copy (it is kept encrypted on the message only until it is sent)."""
    if actor is not None:
        require_staff(actor)
    request = request_lock(request)
    failed = list(request.steps.filter(status=StepStatus.FAILED).values_list("step", flat=True))
    if failed:
        raise Conflict(f"Steps {', '.join(failed)} failed; re-run them before completing.", code="steps_failed")
    request.resolution_note = note.strip() or request.resolution_note
    request.needs_attention = False
    _answered(request)
    transition(
        request,
        to=RequestStatus.COMPLETED,
        actor=actor,
        actor_label=actor_label,
        note=note,
        action="completed",
    )
    if request.email.endswith(ERASED_EMAIL_SUFFIX) and not deliver_to:
        event_record(
            request, action="completion_not_sent", actor_label=ActorLabel.SYSTEM, note="Contact details were erased"
        )
        _close_duplicates(request, to=RequestStatus.COMPLETED, actor=actor)
        return request
    message_queue(
        request,
        kind="completion",
        subject="Your request is complete",
        body=(
            f"We have completed your request {request.reference} "
            f"({RequestKind(request.kind).label}).\n\n{request.resolution_note}\n\n{NPC_COMPLAINT_NOTICE}\n"
        ),
        actor=actor,
        erased_recipient=deliver_to if request.email.endswith(ERASED_EMAIL_SUFFIX) else "",
    )
    _close_duplicates(request, to=RequestStatus.COMPLETED, actor=actor)
    return request


@transaction.atomic
def request_reject(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Refuse with written reasons (NPC) and tell the person they may complain to the National Privacy
    Commission."""
    require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("A rejection needs a reason; it is sent to the requester.", code="reason_required")
    request = request_lock(request)
    request.rejection_reason = reason
    request.needs_attention = False
    _answered(request)
    transition(request, to=RequestStatus.REJECTED, actor=actor, note=reason, action="rejected")
    message_queue(
        request,
        kind="rejection",
        subject="We cannot fulfil your request",
        body=(
            f"We cannot fulfil your request {request.reference} ({RequestKind(request.kind).label}).\n\n"
            f"Reason: {reason}\n\n{NPC_COMPLAINT_NOTICE}\n"
        ),
        actor=actor,
    )
    _close_duplicates(request, to=RequestStatus.REJECTED, actor=actor)
    return request


@transaction.atomic
def request_evidence_add(*, request: DataSubjectRequest, actor: User, label: str, note: str = "", file=None):
    require_staff(actor)
    if not label.strip():
        raise ApplicationError("Describe the evidence.", code="label_required")
    evidence = RequestEvidence.objects.create(
        request=request, label=label.strip(), note=note, file=file, added_by=actor
    )
    event_record(request, action="evidence_added", actor=actor, note=label.strip())
    return evidence
