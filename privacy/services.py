"""Writes for privacy requests, policy versions and contact inquiries.

Every state change of a data subject request goes through `_transition`, which checks the workflow, keeps the
SLA inputs (pauses) and the derived due date right, and writes a `RequestEvent`. Every e-mail about a request
is a `RequestMessage` row first and is sent by a task after commit, so the correspondence log is complete even
when the mail server is down (the row then carries the error and the board shows it).
"""

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail, send_mass_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_log_record, user_update_profile
from messaging.models import MessageStatus
from portal.errors import ApplicationError, Conflict, NotFound
from privacy import sla
from privacy.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ContactInquiry,
    DataSubjectRequest,
    FulfilmentStep,
    InquiryStatus,
    MessageChannelKind,
    MessageDirection,
    PolicyAcknowledgement,
    PolicyVersion,
    ReminderSent,
    RequestChannel,
    RequestEvent,
    RequestEvidence,
    RequestKind,
    RequestMessage,
    RequestStatus,
    StepStatus,
    VerificationMethod,
)

logger = logging.getLogger(__name__)

NPC_COMPLAINT_NOTICE = (
    "If you are not satisfied with this answer, you may file a complaint with the National Privacy "
    "Commission "
    "(NPC) of the Philippines: https://privacy.gov.ph/ , complaints@privacy.gov.ph."
)
EMAIL_VERIFY_SALT = "privacy.request.verify-email"
UPDATABLE_FIELDS = ("full_name", "phone_number", "email", "other")
ERASED_EMAIL_SUFFIX = "@erased.invalid"  # privacy-data's placeholder once a request's contact details are erased
SMS_OBJECTION = "sms"  # "stop sending SMS to my number": privacy-data turns it into a suppression
OTP_TEMPLATE = "Your privacy request code is :otp. It expires in 5 minutes. Do not share it."
COMPLETION_NOTES = {
    RequestKind.ACCESS: "Your copy of your personal data is ready; the download link was sent separately.",
    RequestKind.DELETE: (
        "Your personal data was erased. Records the law requires us to keep (billing) were stripped of "
        "everything else and will be deleted when the retention period ends."
    ),
}
VERIFY_REMINDER_AFTER = timedelta(hours=24)
DUE_REMINDER_DAYS = (10, 5, 1)  # reminders to the assignee, each sent once

TRANSITIONS: dict[str, set[str]] = {
    RequestStatus.SUBMITTED: {
        RequestStatus.VERIFIED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
        RequestStatus.EXPIRED,
    },
    RequestStatus.VERIFIED: {
        RequestStatus.IN_PROGRESS,
        RequestStatus.AWAITING_REQUESTER,
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
    },
    RequestStatus.IN_PROGRESS: {
        RequestStatus.AWAITING_REQUESTER,
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
    },
    RequestStatus.AWAITING_REQUESTER: {
        RequestStatus.IN_PROGRESS,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
    },
}


class InvalidTransition(Conflict):
    code = "invalid_transition"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def status_token_hash(token: str) -> str:
    return _sha256(token)


def status_url(token: str) -> str:
    return settings.SITE_URL + reverse("privacy:request_status", kwargs={"token": token})


def email_verify_url(request: DataSubjectRequest) -> str:
    signed = signing.dumps({"r": request.pk, "e": request.email}, salt=EMAIL_VERIFY_SALT)
    return settings.SITE_URL + reverse("privacy:request_verify_email", kwargs={"signed": signed})


def staff_alert_recipients() -> list[str]:
    return list(dict.fromkeys([*settings.OPS_ALERT_EMAILS, settings.PRIVACY_OFFICER_EMAIL]))


def _is_staff_actor(actor) -> bool:
    return actor is not None and getattr(actor, "is_staff", False)


def _require_staff(actor) -> None:
    if not _is_staff_actor(actor):
        raise ApplicationError("Only privacy staff can do this.", code="permission_denied", status=403)


def _lock(request: DataSubjectRequest) -> DataSubjectRequest:
    # Lock the request row only: PostgreSQL refuses FOR UPDATE on the nullable side of the joins.
    return (
        DataSubjectRequest.objects.select_for_update(of=("self",)).select_related("user", "assignee").get(pk=request.pk)
    )


# --- SLA bookkeeping ---


def _refresh_due(request: DataSubjectRequest) -> None:
    request.due_at = sla.due_at_compute(
        rule=request.sla_rule,
        received_at=request.received_at,
        paused=request.paused_total,
        extended=request.extended,
    )


def _event(request, *, action, actor=None, actor_label="", from_status="", to_status="", note="") -> RequestEvent:
    if not actor_label:
        actor_label = "staff" if _is_staff_actor(actor) else ("user" if actor is not None else "system")
    return RequestEvent.objects.create(
        request=request,
        action=action,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=actor_label,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )


def _transition(
    request: DataSubjectRequest,
    *,
    to: str,
    actor=None,
    actor_label: str = "",
    note: str = "",
    action: str = "",
) -> DataSubjectRequest:
    previous = request.status
    if to not in TRANSITIONS.get(previous, set()):
        raise InvalidTransition(
            f"Request {request.reference} is {request.get_status_display().lower()}; it cannot become "
            f"{RequestStatus(to).label.lower()}."
        )
    now = timezone.now()
    if previous == RequestStatus.AWAITING_REQUESTER and request.paused_since is not None:
        request.paused_total += max(now - request.paused_since, timedelta(0))
        request.paused_since = None
    if to == RequestStatus.AWAITING_REQUESTER:
        request.paused_since = now
    if to in CLOSED_STATUSES:
        request.closed_at = now
    request.status = to
    _refresh_due(request)
    request.save()
    _event(
        request,
        action=action or to,
        actor=actor,
        actor_label=actor_label,
        from_status=previous,
        to_status=to,
        note=note,
    )
    audit_log_record(
        event_type=f"privacy.request.{action or to}",
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        target=request,
        extra={"from": previous, "to": to},
    )
    return request


# --- correspondence ---


def _queue_message(
    request: DataSubjectRequest,
    *,
    kind: str,
    subject: str,
    body: str,
    recipients: list[str] | None = None,
    actor=None,
) -> RequestMessage:
    message = RequestMessage.objects.create(
        request=request,
        kind=kind,
        direction=MessageDirection.OUTBOUND,
        channel=MessageChannelKind.EMAIL,
        recipients=recipients if recipients is not None else [request.email],
        subject=f"[{request.reference}] {subject}"[:200],
        body=body,
        sent_by=actor if actor is not None and getattr(actor, "pk", None) else None,
    )
    from privacy.tasks import request_message_deliver_task

    transaction.on_commit(partial(request_message_deliver_task.enqueue, message_id=message.id))
    return message


def request_message_deliver(*, message_id: int) -> RequestMessage:
    """Send one logged e-mail; records sent_at, or the error (a retry by staff calls this again)."""
    message = RequestMessage.objects.get(pk=message_id)
    if message.sent_at is not None:
        return message
    try:
        send_mail(
            subject=message.subject,
            message=message.body,
            from_email=None,
            recipient_list=list(message.recipients),
        )
    except Exception as exc:  # the log must say why the requester was not told, whatever the mail backend raised
        logger.exception("privacy e-mail %s could not be sent", message_id)
        RequestMessage.objects.filter(pk=message_id).update(error=str(exc)[:2000])
        message.error = str(exc)
        return message
    message.sent_at = timezone.now()
    message.error = ""
    RequestMessage.objects.filter(pk=message_id).update(sent_at=message.sent_at, error="")
    return message


def _dates_paragraph(request: DataSubjectRequest) -> str:
    due = sla.current_due_at(due_at=request.due_at, paused_since=request.paused_since, now=timezone.now())
    return (
        f"Received: {timezone.localtime(request.received_at):%d %B %Y %H:%M} (Philippine time)\n"
        f"First answer by: {_deadline_day(request.first_response_due_at)}\n"
        f"Full answer due by: {_deadline_day(due)}"
    )


def _admin_change_url(request: DataSubjectRequest) -> str:
    return reverse("admin:privacy_datasubjectrequest_change", args=[request.pk])


def _long_date(day) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _deadline_day(deadline: datetime) -> str:
    return f"{(deadline - timedelta(microseconds=1)).astimezone(sla.PH_TZ):%d %B %Y}"


# --- submission and verification ---


def _normalise_phone(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
    from messaging.numbers import normalize_ph_number

    return normalize_ph_number(raw)


def _clean_changes(kind: str, requested_changes) -> dict:
    if kind != RequestKind.UPDATE:
        return {}
    if not isinstance(requested_changes, dict):
        raise ApplicationError("requested_changes must be an object of field → new value.", code="invalid_changes")
    cleaned = {}
    for field, value in requested_changes.items():
        if field not in UPDATABLE_FIELDS:
            raise ApplicationError(
                f"Cannot request a change to {field!r}; choose from {', '.join(UPDATABLE_FIELDS)}.",
                code="invalid_changes",
            )
        value = str(value if value is not None else "").strip()
        if value:
            cleaned[field] = value[:500]
    if not cleaned:
        raise ApplicationError("Say what should be corrected (at least one new value).", code="invalid_changes")
    if "email" in cleaned:
        try:
            validate_email(cleaned["email"])
        except ValidationError:
            raise ApplicationError(f"{cleaned['email']!r} is not a valid e-mail address.", code="invalid_changes")
    if "phone_number" in cleaned:
        cleaned["phone_number"] = _normalise_phone(cleaned["phone_number"])
    return cleaned


def objection_choices() -> list[tuple[str, str]]:
    from privacy.data_models import ProcessingKind

    return [(SMS_OBJECTION, "SMS sent to my mobile number through this portal"), *ProcessingKind.choices]


def _clean_objections(kind: str, objections) -> list[str]:
    if kind != RequestKind.OBJECT:
        return []
    allowed = [value for value, _ in objection_choices()]
    values = list(dict.fromkeys(objections or []))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ApplicationError(
            f"Unknown processing {', '.join(map(repr, unknown))}; choose from {', '.join(allowed)}.",
            code="invalid_objections",
        )
    if not values:
        raise ApplicationError("Choose at least one processing activity to object to.", code="invalid_objections")
    return values


@transaction.atomic
def request_submit(
    *,
    kind: str,
    email: str,
    channel: str,
    user: User | None = None,
    full_name: str = "",
    phone_number: str = "",
    details: str = "",
    requested_changes: dict | None = None,
    objections: Iterable[str] | None = None,
    verification_method: str | None = None,
    ip: str | None = None,
    received_at: datetime | None = None,
) -> tuple[DataSubjectRequest, str]:
    """Record a request and acknowledge it at once. Returns the request and its status token (shown once).

    A signed-in user's request is verified by the session. Anyone else proves control of the e-mail address
    (a signed link in the acknowledgement) or of the mobile number (a one-time code sent through the portal's
    own SMS path).
    """
    if kind not in RequestKind.values:
        raise ApplicationError(
            f"Unknown request type {kind!r}; choose {', '.join(RequestKind.values)}.", code="invalid_kind"
        )
    if channel not in RequestChannel.values:
        raise ApplicationError(f"Unknown channel {channel!r}.", code="invalid_channel")
    if user is not None:
        email = user.email
        full_name = full_name or user.full_name
        if not phone_number:
            # A profile number typed before numbers were checked must not block the person's request.
            try:
                phone_number = _normalise_phone(user.phone_number)
            except ApplicationError:
                phone_number = ""
        verification_method = VerificationMethod.ACCOUNT
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(f"{email!r} is not a valid e-mail address.", code="invalid_email")
    phone_number = _normalise_phone(phone_number)
    verification_method = verification_method or VerificationMethod.EMAIL
    if verification_method not in (
        VerificationMethod.EMAIL,
        VerificationMethod.SMS,
        VerificationMethod.ACCOUNT,
    ):
        raise ApplicationError("Verify by e-mail or by SMS code.", code="invalid_verification")
    if verification_method == VerificationMethod.ACCOUNT and user is None:
        raise ApplicationError("Sign in to verify with your account.", code="invalid_verification")
    if verification_method == VerificationMethod.SMS and not phone_number:
        raise ApplicationError("Give the mobile number the code should be sent to.", code="phone_required")
    changes = _clean_changes(kind, requested_changes or {})
    objection_values = _clean_objections(kind, objections)
    if kind == RequestKind.OBJECT and SMS_OBJECTION in objection_values and not phone_number:
        raise ApplicationError("Give the mobile number that should receive no more SMS.", code="phone_required")

    token = secrets.token_urlsafe(32)
    received_at = received_at or timezone.now()
    request = DataSubjectRequest(
        kind=kind,
        channel=channel,
        user=user,
        full_name=full_name.strip()[:150],
        email=email,
        phone_number=phone_number,
        details=details.strip()[:10000],
        requested_changes=changes,
        objections=objection_values,
        verification_method=verification_method,
        status_token_hash=status_token_hash(token),
        received_at=received_at,
        acknowledged_at=timezone.now(),
        first_response_due_at=sla.first_response_due_compute(received_at=received_at),
        submitted_ip=ip,
    )
    _refresh_due(request)
    request.save()
    _event(request, action="submitted", actor=user, actor_label="requester", to_status=RequestStatus.SUBMITTED)
    audit_log_record(event_type="privacy.request.submitted", actor=user, target=request, extra={"kind": kind})

    verify_line = ""
    if verification_method == VerificationMethod.EMAIL:
        verify_line = f"\nTo confirm it is you, open this link within 7 days:\n{email_verify_url(request)}\n"
    elif verification_method == VerificationMethod.SMS:
        sent, error = _send_sms_code(request)
        if sent:
            verify_line = "\nWe sent a one-time code by SMS; enter it on the status page to confirm it is you.\n"
        else:
            # The code could not be sent (no credits, provider down): fall back to the e-mail link.
            request.verification_method = VerificationMethod.EMAIL
            request.last_error = f"SMS code not sent: {error}"
            request.save(update_fields=["verification_method", "last_error"])
            verify_line = (
                "\nWe could not send an SMS code just now; confirm it is you with this link instead (valid 7 "
                "days):\n"
                f"{email_verify_url(request)}\n"
            )
    _queue_message(
        request,
        kind="acknowledgement",
        subject=f"We received your {RequestKind(kind).label.split(' (')[0].lower()} request",
        body=(
            f"Hello {request.full_name or ''},\n\n"
            f"We received your privacy request {request.reference} "
            f"({RequestKind(kind).label}).\n{_dates_paragraph(request)}\n"
            f"{verify_line}\nFollow it (and withdraw it if you change your mind) "
            f"here:\n{status_url(token)}\n\n"
            "Keep this link private: anyone with it can see the status of your request.\n"
        ),
    )
    if verification_method == VerificationMethod.ACCOUNT:
        _verify(request, actor=user, actor_label="requester", note="Signed-in account")
    return request, token


def privacy_operator_organization() -> Organization:
    """The operator's own organization; its credits pay for the one-time codes of privacy requests."""
    organization, created = Organization.objects.get_or_create(
        slug=settings.PRIVACY_OPERATOR_ORGANIZATION_SLUG, defaults={"name": "Operator (privacy and notices)"}
    )
    if created:
        audit_log_record(event_type="privacy.operator_organization_created", organization=organization)
    return organization


def _send_sms_code(request: DataSubjectRequest) -> tuple[bool, str]:
    from messaging.services import otp_send

    try:
        with transaction.atomic():
            challenge = otp_send(
                organization=privacy_operator_organization(),
                phone_number=request.phone_number,
                template=OTP_TEMPLATE,
            )
    except ApplicationError as exc:
        logger.warning("privacy OTP for request %s not sent: %s", request.pk, exc.message)
        if exc.code in ("insufficient_credits", "monthly_limit_reached", "no_route_configured"):
            # The operator's own account cannot send: every SMS verification would fail until staff act.
            reason = exc.message
            transaction.on_commit(
                lambda: send_mail(
                    "Privacy request codes cannot be sent by SMS",
                    f"Request {request.reference}: {reason}\nTop up or fix the operator organization "
                    f"({settings.PRIVACY_OPERATOR_ORGANIZATION_SLUG}); requesters get the e-mail link meanwhile.",
                    None,
                    staff_alert_recipients(),
                    fail_silently=True,
                )
            )
        return False, exc.message
    if challenge.message.status == MessageStatus.REJECTED:
        # The number asked not to receive SMS (an earlier objection): the code was never sent.
        return False, "this number asked not to receive SMS from us"
    RequestMessage.objects.create(
        request=request,
        kind="verification_code",
        channel=MessageChannelKind.SMS,
        recipients=[request.phone_number],
        body=OTP_TEMPLATE.replace(":otp", "******"),  # the code itself is never logged
        sent_at=timezone.now(),
    )
    return True, ""


@transaction.atomic
def request_sms_code_resend(*, request: DataSubjectRequest) -> None:
    request = _lock(request)
    if request.status != RequestStatus.SUBMITTED or request.verification_method != VerificationMethod.SMS:
        raise Conflict("This request does not wait for an SMS code.", code="not_awaiting_code")
    sent, error = _send_sms_code(request)
    if not sent:
        raise ApplicationError(f"We could not send the code: {error}", code="otp_not_sent", status=503)


def _find_original(request: DataSubjectRequest) -> DataSubjectRequest | None:
    same_person = Q(email__iexact=request.email)
    if request.user_id:
        same_person |= Q(user_id=request.user_id)
    if request.phone_number:
        same_person |= Q(phone_number=request.phone_number)
    return (
        DataSubjectRequest.objects.filter(same_person, kind=request.kind, duplicate_of__isnull=True)
        .filter(status__in=[s for s in OPEN_STATUSES if s != RequestStatus.SUBMITTED])
        .exclude(pk=request.pk)
        .order_by("received_at")
        .first()
    )


def _verify(request: DataSubjectRequest, *, actor=None, actor_label: str = "", note: str = "") -> DataSubjectRequest:
    request.verified_at = timezone.now()
    _transition(request, to=RequestStatus.VERIFIED, actor=actor, actor_label=actor_label, note=note, action="verified")
    original = _find_original(request)
    if original is not None:
        request.duplicate_of = original
        request.save(update_fields=["duplicate_of", "updated_at"])
        _event(request, action="flagged_duplicate", actor_label="system", note=f"Same as {original.reference}")
        _queue_message(
            request,
            kind="duplicate",
            subject="You already have the same request open",
            body=(
                f"Your request {request.reference} asks for the same as {original.reference}, which is "
                "already "
                "being handled. We will answer both together; you do not need to do anything.\n"
            ),
        )
    return request


@transaction.atomic
def request_verify_email(*, signed: str) -> DataSubjectRequest:
    try:
        data = signing.loads(signed, salt=EMAIL_VERIFY_SALT, max_age=sla.UNVERIFIED_LIFETIME)
    except signing.SignatureExpired:
        raise ApplicationError("This link has expired; send the request again.", code="link_expired", status=410)
    except signing.BadSignature:
        raise NotFound("This link is not valid.", code="link_invalid")
    request = DataSubjectRequest.objects.select_for_update().filter(pk=data.get("r"), email=data.get("e")).first()
    if request is None:
        raise NotFound("This link is not valid.", code="link_invalid")
    if request.status != RequestStatus.SUBMITTED:
        return request  # a second click changes nothing
    return _verify(request, actor_label="requester", note="E-mail link")


def request_verify_sms(*, request: DataSubjectRequest, code: str) -> DataSubjectRequest:
    """Check the one-time code. A wrong code is committed as a failed try (the OTP's attempt counter must not
    be rolled back by the error, or guessing would be free), then reported."""
    from messaging.services import otp_verify

    with transaction.atomic():
        request = _lock(request)
        if request.status != RequestStatus.SUBMITTED:
            return request
        if request.verification_method != VerificationMethod.SMS:
            raise Conflict("This request is verified by e-mail link, not by SMS code.", code="not_awaiting_code")
        valid = otp_verify(
            organization=privacy_operator_organization(),
            phone_number=request.phone_number,
            code=(code or "").strip(),
        )
        if valid:
            return _verify(request, actor_label="requester", note="SMS one-time code")
        _event(request, action="verification_failed", actor_label="requester", note="Wrong or expired SMS code")
    raise ApplicationError("That code is wrong or has expired.", code="invalid_code")


# --- staff actions ---


@transaction.atomic
def request_verify_by_staff(*, request: DataSubjectRequest, actor: User, note: str) -> DataSubjectRequest:
    _require_staff(actor)
    if not note.strip():
        raise ApplicationError("Say how the identity was checked.", code="note_required")
    request = _lock(request)
    request.verification_method = VerificationMethod.STAFF
    return _verify(request, actor=actor, note=note.strip())


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
    _require_staff(actor)
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
        _event(request, action="recorded_by_staff", actor=actor, note=f"Received {received_at:%Y-%m-%d %H:%M %Z}")
        if identity_note.strip():
            request = request_verify_by_staff(request=request, actor=actor, note=identity_note)
    return request


@transaction.atomic
def request_assign(*, request: DataSubjectRequest, actor: User, assignee: User | None) -> DataSubjectRequest:
    _require_staff(actor)
    if assignee is not None and not assignee.is_staff:
        raise ApplicationError(f"{assignee.email} is not staff; assign a member of the privacy team.", code="not_staff")
    request = _lock(request)
    previous = request.assignee
    request.assignee = assignee
    request.save(update_fields=["assignee", "updated_at"])
    _event(
        request,
        action="assigned",
        actor=actor,
        note=f"{previous.email if previous else 'nobody'} → {assignee.email if assignee else 'nobody'}",
    )
    return request


@transaction.atomic
def request_start(*, request: DataSubjectRequest, actor: User, note: str = "") -> DataSubjectRequest:
    _require_staff(actor)
    return _transition(_lock(request), to=RequestStatus.IN_PROGRESS, actor=actor, note=note, action="started")


@transaction.atomic
def request_message_send(
    *, request: DataSubjectRequest, actor: User, subject: str, body: str, substantive: bool = True
) -> RequestMessage:
    """Staff write to the requester; a substantive answer meets the NPC's 15-day first-response mark."""
    _require_staff(actor)
    if not body.strip():
        raise ApplicationError("The message is empty.", code="body_required")
    request = _lock(request)
    message = _queue_message(request, kind="answer", subject=subject or "About your request", body=body, actor=actor)
    if substantive and request.first_response_at is None:
        request.first_response_at = timezone.now()
        request.save(update_fields=["first_response_at", "updated_at"])
    _event(request, action="message_sent", actor=actor, note=subject)
    return message


@transaction.atomic
def request_ask_requester(*, request: DataSubjectRequest, actor: User, question: str) -> DataSubjectRequest:
    """Ask the requester something; the SLA clock pauses until they answer (the only pause the rules
    allow)."""
    _require_staff(actor)
    if not question.strip():
        raise ApplicationError("Write the question for the requester.", code="question_required")
    request = _lock(request)
    _transition(request, to=RequestStatus.AWAITING_REQUESTER, actor=actor, note=question, action="asked_requester")
    _queue_message(
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
def request_requester_reply(*, request: DataSubjectRequest, body: str, actor: User | None = None) -> DataSubjectRequest:
    if not body.strip():
        raise ApplicationError("Write your answer.", code="body_required")
    request = _lock(request)
    if request.status != RequestStatus.AWAITING_REQUESTER:
        raise Conflict("We are not waiting for an answer on this request.", code="not_awaiting_requester")
    RequestMessage.objects.create(
        request=request,
        kind="requester_reply",
        direction=MessageDirection.INBOUND,
        recipients=[],
        body=body.strip()[:10000],
        sent_at=timezone.now(),
    )
    return _transition(
        request,
        to=RequestStatus.IN_PROGRESS,
        actor=actor,
        actor_label="requester",
        action="requester_replied",
    )


@transaction.atomic
def request_resume(*, request: DataSubjectRequest, actor: User, note: str) -> DataSubjectRequest:
    """Staff resume without an answer (e.g. the requester replied by phone); the note says why."""
    _require_staff(actor)
    if not note.strip():
        raise ApplicationError("Say why the request resumes.", code="note_required")
    request = _lock(request)
    if request.status != RequestStatus.AWAITING_REQUESTER:
        raise InvalidTransition("Only a request awaiting the requester can resume.")
    return _transition(request, to=RequestStatus.IN_PROGRESS, actor=actor, note=note, action="resumed")


@transaction.atomic
def request_extend(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Extend once, with a reason, before the original deadline; the requester is told at that moment."""
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("An extension needs a reason; it is sent to the requester.", code="reason_required")
    request = _lock(request)
    if not request.is_open:
        raise InvalidTransition("Only an open request can be extended.")
    if request.extended:
        raise Conflict(
            f"{request.reference} was already extended on {request.extended_at:%Y-%m-%d}.",
            code="already_extended",
        )
    now = timezone.now()
    original_due = sla.current_due_at(due_at=request.due_at, paused_since=request.paused_since, now=now)
    if now >= original_due:
        raise Conflict(
            f"{request.reference} was due {_deadline_day(original_due)}; an extension must be made before "
            "the deadline.",
            code="extension_too_late",
        )
    request.extended = True
    request.extension_reason = reason
    request.extended_at = now
    request.extended_by = actor
    _refresh_due(request)
    request.save()
    new_due = sla.current_due_at(due_at=request.due_at, paused_since=request.paused_since, now=now)
    _event(request, action="extended", actor=actor, note=reason)
    audit_log_record(event_type="privacy.request.extended", actor=actor, target=request, extra={"reason": reason})
    _queue_message(
        request,
        kind="extension",
        subject="We need more time for your request",
        body=(
            f"We need more time to answer your request {request.reference} completely.\n\nReason: "
            f"{reason}\n\n"
            f"It was due by {_deadline_day(original_due)}; we will answer by {_deadline_day(new_due)} at the "
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
        _transition(
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
    *, request: DataSubjectRequest, actor: User | None, note: str = "", actor_label: str = ""
) -> DataSubjectRequest:
    if actor is not None:
        _require_staff(actor)
    request = _lock(request)
    failed = list(request.steps.filter(status=StepStatus.FAILED).values_list("step", flat=True))
    if failed:
        raise Conflict(f"Steps {', '.join(failed)} failed; re-run them before completing.", code="steps_failed")
    request.resolution_note = note.strip() or request.resolution_note
    request.needs_attention = False
    _answered(request)
    _transition(
        request,
        to=RequestStatus.COMPLETED,
        actor=actor,
        actor_label=actor_label,
        note=note,
        action="completed",
    )
    if request.email.endswith(ERASED_EMAIL_SUFFIX):
        _event(request, action="completion_not_sent", actor_label="system", note="Contact details were erased")
        _close_duplicates(request, to=RequestStatus.COMPLETED, actor=actor)
        return request
    _queue_message(
        request,
        kind="completion",
        subject="Your request is complete",
        body=(
            f"We have completed your request {request.reference} "
            f"({RequestKind(request.kind).label}).\n\n{request.resolution_note}\n\n{NPC_COMPLAINT_NOTICE}\n"
        ),
        actor=actor,
    )
    _close_duplicates(request, to=RequestStatus.COMPLETED, actor=actor)
    return request


@transaction.atomic
def request_reject(*, request: DataSubjectRequest, actor: User, reason: str) -> DataSubjectRequest:
    """Refuse with written reasons (NPC) and tell the person they may complain to the National Privacy
    Commission."""
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("A rejection needs a reason; it is sent to the requester.", code="reason_required")
    request = _lock(request)
    request.rejection_reason = reason
    request.needs_attention = False
    _answered(request)
    _transition(request, to=RequestStatus.REJECTED, actor=actor, note=reason, action="rejected")
    _queue_message(
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
def request_withdraw(*, request: DataSubjectRequest, actor: User | None = None, note: str = "") -> DataSubjectRequest:
    """The requester (status page, privacy centre, API) or staff on their behalf withdraws the request."""
    request = _lock(request)
    label = "staff" if _is_staff_actor(actor) else "requester"
    _transition(request, to=RequestStatus.WITHDRAWN, actor=actor, actor_label=label, note=note, action="withdrawn")
    _queue_message(
        request,
        kind="withdrawal",
        subject="Your request was withdrawn",
        body=f"Your request {request.reference} was withdrawn. Nothing more will be done with it.\n",
    )
    return request


@transaction.atomic
def request_evidence_add(*, request: DataSubjectRequest, actor: User, label: str, note: str = "", file=None):
    _require_staff(actor)
    if not label.strip():
        raise ApplicationError("Describe the evidence.", code="label_required")
    evidence = RequestEvidence.objects.create(
        request=request, label=label.strip(), note=note, file=file, added_by=actor
    )
    _event(request, action="evidence_added", actor=actor, note=label.strip())
    return evidence


# --- fulfilment (privacy-data's export/erasure/objection functions) ---


def _step_start(request: DataSubjectRequest, step: str) -> FulfilmentStep:
    row, created = FulfilmentStep.objects.get_or_create(request=request, step=step)
    if not created:
        row.status = StepStatus.RUNNING
        row.error = ""
        row.attempts += 1
        row.updated_at = timezone.now()
        row.save(update_fields=["status", "error", "attempts", "updated_at"])
    return row


def _ensure_in_progress(request: DataSubjectRequest, *, actor, action: str) -> None:
    if request.status == RequestStatus.VERIFIED:
        _transition(request, to=RequestStatus.IN_PROGRESS, actor=actor, action="started", note=action)
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
    from privacy.fulfilment import export_start

    _require_staff(actor)
    request = _lock(request)
    _require_kind(request, RequestKind.ACCESS)
    _ensure_in_progress(request, actor=actor, action="export_started")
    _step_start(request, "export")
    request.needs_attention = False
    request.last_error = ""
    request.save(update_fields=["needs_attention", "last_error", "updated_at"])
    export = export_start(request=request, actor=actor)
    _event(request, action="export_started", actor=actor, note=f"Export #{export.pk}")
    return export


@transaction.atomic
def request_run_erasure(*, request: DataSubjectRequest, actor: User):
    from privacy.fulfilment import erasure_mark

    _require_staff(actor)
    request = _lock(request)
    _require_kind(request, RequestKind.DELETE)
    _ensure_in_progress(request, actor=actor, action="erasure_started")
    _step_start(request, "erasure")
    request.needs_attention = False
    request.last_error = ""
    request.save(update_fields=["needs_attention", "last_error", "updated_at"])
    job = erasure_mark(request=request, actor=actor)
    _event(request, action="erasure_marked", actor=actor, note=f"Erasure job #{job.pk}")
    # The substantive answer: what will happen and when. The request completes by itself when privacy-data
    # reports success, which it does before it erases this request's own contact details, so the confirmation
    # still arrives.
    request.first_response_at = request.first_response_at or timezone.now()
    request.save(update_fields=["first_response_at", "updated_at"])
    erase_after = getattr(job, "erase_after", None)
    when = f" after {timezone.localtime(erase_after):%d %B %Y %H:%M} (Philippine time)" if erase_after else ""
    _queue_message(
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
    from privacy.fulfilment import objection_apply

    _require_staff(actor)
    request = _lock(request)
    _require_kind(request, RequestKind.OBJECT)
    _ensure_in_progress(request, actor=actor, action="objections_applied")
    objection_apply(request=request, actor=actor)
    FulfilmentStep.objects.update_or_create(
        request=request,
        step="objection",
        defaults={"status": StepStatus.SUCCEEDED, "updated_at": timezone.now()},
    )
    _event(request, action="objections_applied", actor=actor, note=", ".join(request.objections))
    return request_complete(
        request=request,
        actor=actor,
        note="We recorded your objection to: "
        + ", ".join(dict(objection_choices()).get(o, o) for o in request.objections)
        + ".",
    )


@transaction.atomic
def request_apply_updates(*, request: DataSubjectRequest, actor: User) -> DataSubjectRequest:
    """Apply an update request's changes to the account in one audited action, then complete the request."""
    _require_staff(actor)
    request = _lock(request)
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
    FulfilmentStep.objects.update_or_create(
        request=request,
        step="update",
        defaults={"status": StepStatus.SUCCEEDED, "updated_at": timezone.now()},
    )
    note = "We corrected: " + ", ".join(f for f in ("full_name", "phone_number", "email") if before[f] != after[f])
    if "other" in changes:
        note += f". Other corrections you asked for are noted by staff: {changes['other']}"
    _event(request, action="updates_applied", actor=actor, note=note)
    return request_complete(request=request, actor=actor, note=note)


def user_email_change_by_staff(*, user: User, actor: User, email: str, request: DataSubjectRequest) -> User:
    """A verified requester's new e-mail replaces the sign-in address (allauth's address row follows)."""
    from allauth.account.models import EmailAddress

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


_STEP_STATUS_ALIASES = {
    "running": StepStatus.RUNNING,
    "started": StepStatus.RUNNING,
    "queued": StepStatus.RUNNING,
    "building": StepStatus.RUNNING,
    "scheduled": StepStatus.RUNNING,
    "retrying": StepStatus.RUNNING,
    "succeeded": StepStatus.SUCCEEDED,
    "success": StepStatus.SUCCEEDED,
    "done": StepStatus.SUCCEEDED,
    "ready": StepStatus.SUCCEEDED,
    "completed": StepStatus.SUCCEEDED,
    "failed": StepStatus.FAILED,
    "error": StepStatus.FAILED,
}


@transaction.atomic
def request_fulfilment_update(*, request_id: int, step: str, status: str, error: str = "") -> None:
    """privacy-data reports an export/erasure step. Failures alert staff; the last success completes the
    request."""
    step_status = _STEP_STATUS_ALIASES.get((status or "").lower())
    if step_status is None:
        raise ApplicationError(
            f"Unknown step status {status!r}; use running, succeeded or failed.", code="invalid_status"
        )
    request = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No privacy request {request_id}.")
    now = timezone.now()
    row, created = FulfilmentStep.objects.get_or_create(
        request=request, step=step, defaults={"status": step_status, "error": error, "updated_at": now}
    )
    if not created:
        if row.status == step_status and row.error == error:
            return  # a repeated report changes nothing and alerts nobody twice
        if step_status == StepStatus.RUNNING and row.status == StepStatus.FAILED:
            row.attempts += 1
        row.status = step_status
        row.error = error if step_status == StepStatus.FAILED else ""
        row.updated_at = now
        row.save(update_fields=["status", "error", "attempts", "updated_at"])
    _event(
        request,
        action=f"step_{step_status}",
        actor_label="system",
        note=f"{step}: {error}" if error else step,
    )
    if step_status == StepStatus.FAILED:
        request.needs_attention = True
        request.last_error = f"{step}: {error}"[:2000]
        request.save(update_fields=["needs_attention", "last_error", "updated_at"])
        _queue_message(
            request,
            kind="staff_alert",
            subject=f"Privacy request step failed: {step}",
            body=(
                f"The {step} step of {request.reference} ({request.kind}, {request.status}) "
                f"failed:\n\n{error}\n\n"
                f"Re-run it from admin: {settings.SITE_URL}"
                f"{_admin_change_url(request)}\n"
            ),
            recipients=staff_alert_recipients(),
        )
        return
    if request.needs_attention and not request.steps.filter(status=StepStatus.FAILED).exists():
        request.needs_attention = False
        request.last_error = ""
        request.save(update_fields=["needs_attention", "last_error", "updated_at"])
    all_done = not request.steps.exclude(status=StepStatus.SUCCEEDED).exists()
    if step_status == StepStatus.SUCCEEDED and all_done and request.status == RequestStatus.IN_PROGRESS:
        note = COMPLETION_NOTES.get(request.kind, "")
        request_complete(request=request, actor=None, actor_label="system", note=note)


# --- periodic work (each idempotent: re-running it sends nothing twice) ---


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
                _transition(request, to=RequestStatus.EXPIRED, actor_label="system", note="Not verified within 7 days")
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
            _queue_message(
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
    from privacy.selectors import STEP_STUCK_AFTER, step_is_stuck

    now = now or timezone.now()
    sent = 0
    running = FulfilmentStep.objects.filter(
        status=StepStatus.RUNNING, updated_at__lt=now - STEP_STUCK_AFTER, request__status__in=OPEN_STATUSES
    ).select_related("request")
    for step in running.iterator(chunk_size=200):
        if not step_is_stuck(step, now=now):
            continue
        with transaction.atomic():
            request = _lock(step.request)
            key = f"stuck:{step.step}:{step.attempts}"[:40]
            if not _reminder_once(key=key, request=request, sent_to=staff_alert_recipients()):
                continue
            since = f"{timezone.localtime(step.updated_at):%Y-%m-%d %H:%M}"
            request.needs_attention = True
            request.last_error = f"{step.step}: no progress since {since}"
            request.save(update_fields=["needs_attention", "last_error", "updated_at"])
            _event(request, action="step_stuck", actor_label="system", note=request.last_error)
            _queue_message(
                request,
                kind="staff_alert",
                subject=f"Privacy request step stuck: {step.step}",
                body=(
                    f"The {step.step} step of {request.reference} has reported nothing since {since}. "
                    f"Check it and re-run it from admin: {settings.SITE_URL}{_admin_change_url(request)}\n"
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
            _queue_message(
                request,
                kind="due_reminder",
                subject=f"Due in {left} day{'s' if left != 1 else ''}",
                body=(
                    f"{request.reference} ({request.get_kind_display()}, {request.get_status_display()}) is "
                    "due by "
                    f"{_deadline_day(due)}.\n{settings.SITE_URL}{reverse('privacy:staff_board')}\n"
                ),
                recipients=[recipient],
            )
            sent += 1
    return sent


def requests_escalate_overdue(*, now: datetime | None = None) -> int:
    """Once a day, every overdue request is escalated to the privacy officer in one e-mail per request."""
    now = now or timezone.now()
    today = now.astimezone(sla.PH_TZ).date().isoformat()
    sent = 0
    overdue = _workable().filter(due_at__lt=now).exclude(status=RequestStatus.AWAITING_REQUESTER)
    for request in overdue.iterator(chunk_size=200):
        with transaction.atomic():
            if not _reminder_once(key=f"overdue:{today}", request=request, sent_to=[settings.PRIVACY_OFFICER_EMAIL]):
                continue
            _queue_message(
                request,
                kind="escalation",
                subject="OVERDUE privacy request",
                body=(
                    f"{request.reference} ({request.get_kind_display()}) was due by "
                    f"{_deadline_day(request.due_at)} "
                    f"and is still {request.get_status_display().lower()}. Assignee: "
                    f"{request.assignee.email if request.assignee else 'nobody'}.\n"
                    f"{settings.SITE_URL}{_admin_change_url(request)}\n"
                ),
                recipients=[settings.PRIVACY_OFFICER_EMAIL],
            )
            sent += 1
    return sent


# --- policy versions ---

SEED_POLICY_PATH = Path(__file__).resolve().parent / "policy_seed" / "privacy_policy_v1.md"


@transaction.atomic
def privacy_seed_policy() -> PolicyVersion:
    """Load the operator's policy (Last Updated: November 30, 2025) as version 1; a second call changes
    nothing."""
    existing = PolicyVersion.objects.filter(version=1).first()
    if existing is not None:
        return existing
    from datetime import date

    policy = PolicyVersion.objects.create(
        version=1,
        title="Privacy Policy",
        body_markdown=SEED_POLICY_PATH.read_text(encoding="utf-8"),
        last_updated=date(2025, 11, 30),
        effective_date=date(2025, 11, 30),
        material_change=False,
        summary_of_changes="First published version.",
        published_at=timezone.now(),
    )
    audit_log_record(event_type="privacy.policy_seeded", target=policy)
    return policy


@transaction.atomic
def policy_publish(*, policy_version: PolicyVersion, actor: User | None) -> PolicyVersion:
    """Publish a draft. A material change e-mails every registered user (background, batched), shows a banner
    until each acknowledges it, and posts a notice to the API."""
    if actor is not None:
        _require_staff(actor)
    policy = PolicyVersion.objects.select_for_update().get(pk=policy_version.pk)
    if policy.published_at is not None:
        raise Conflict(f"Version {policy.version} is already published.", code="already_published")
    newer = PolicyVersion.objects.filter(published_at__isnull=False, version__gte=policy.version).first()
    if newer is not None:
        raise Conflict(f"Version {newer.version} is already published; publish a higher version.", code="version_order")
    if not policy.body_markdown.strip():
        raise ApplicationError("The policy text is empty.", code="empty_policy")
    policy.published_at = timezone.now()
    policy.published_by = actor
    policy.save(update_fields=["published_at", "published_by"])
    audit_log_record(
        event_type="privacy.policy_published",
        actor=actor,
        target=policy,
        extra={"material": policy.material_change},
    )
    if policy.material_change:
        from messaging.services import notice_publish, notice_withdraw

        for earlier in PolicyVersion.objects.filter(material_change=True, version__lt=policy.version).values_list(
            "version", flat=True
        ):
            notice_withdraw(dedupe_key=f"privacy_policy:v{earlier}", actor=actor)

        summary = policy.summary_of_changes.strip() or "We changed how we handle your personal data."
        notice_publish(
            kind="privacy_policy",
            title=f"Privacy Policy updated (Last Updated: {_long_date(policy.last_updated)})",
            body=f"{summary}\nRead it at {settings.SITE_URL}{reverse('privacy:policy')}",
            dedupe_key=f"privacy_policy:v{policy.version}",
            actor=actor,
        )
        from privacy.tasks import policy_notify_users_task

        transaction.on_commit(partial(policy_notify_users_task.enqueue, policy_version_id=policy.pk))
    return policy


def policy_notify_users(*, policy_version_id: int) -> int:
    """E-mail every active registered user about a material change, in batches (one `send_mass_mail` each).

    Resumable: after each batch the last user reached is recorded, so a run that stopped (SMTP outage, a worker
    restart) continues where it stopped and nobody gets the e-mail twice. Returns how many were sent by this run.
    """
    policy = PolicyVersion.objects.get(pk=policy_version_id)
    if policy.notified_at is not None:
        return 0
    batch_size = settings.PRIVACY_POLICY_EMAIL_BATCH_SIZE
    subject = f"Our Privacy Policy has changed (Last Updated: {_long_date(policy.last_updated)})"
    body = (
        f"We updated our Privacy Policy (version {policy.version}, effective "
        f"{_long_date(policy.effective_date)}).\n\n"
        f"{policy.summary_of_changes.strip()}\n\nRead it: {settings.SITE_URL}{reverse('privacy:policy')}\n"
        "Your continued use of our services after the changes become effective constitutes acceptance.\n"
    )
    users = User.objects.filter(is_active=True).order_by("pk")
    if policy.notified_through_user_id is not None:
        users = users.filter(pk__gt=policy.notified_through_user_id)
    sent = 0
    batch: list[tuple[int, str]] = []

    def flush() -> int:
        count = send_mass_mail([(subject, body, None, [email]) for _, email in batch], fail_silently=False)
        PolicyVersion.objects.filter(pk=policy.pk).update(
            notified_count=F("notified_count") + count, notified_through_user_id=batch[-1][0]
        )
        return count

    for user_id, email in users.values_list("pk", "email").iterator(chunk_size=batch_size):
        batch.append((user_id, email))
        if len(batch) >= batch_size:
            sent += flush()
            batch = []
    if batch:
        sent += flush()
    PolicyVersion.objects.filter(pk=policy.pk).update(notified_at=timezone.now())
    return sent


def policy_notifications_resume(*, now: datetime | None = None) -> int:
    """Periodic: finish the e-mails of any published material change whose run stopped part-way. A run that
    fails again tells staff. Returns how many e-mails went out."""
    now = now or timezone.now()
    unfinished = PolicyVersion.objects.filter(
        material_change=True,
        published_at__isnull=False,
        published_at__lte=now - timedelta(minutes=15),
        notified_at__isnull=True,
    ).values_list("pk", "version")
    sent = 0
    for pk, version in unfinished:
        try:
            sent += policy_notify_users(policy_version_id=pk)
        except Exception as exc:  # an SMTP outage: try again next hour, and say so
            logger.exception("policy %s e-mails stopped again", version)
            send_mail(
                f"Privacy policy version {version}: change e-mails are not going out",
                f"The e-mail to users about the policy change stopped: {type(exc).__name__}: {exc}\n"
                "It resumes by itself every hour where it stopped; check the mail server.",
                None,
                staff_alert_recipients(),
                fail_silently=True,
            )
    return sent


@transaction.atomic
def policy_acknowledge(*, user: User, policy_version: PolicyVersion, ip: str | None) -> PolicyAcknowledgement:
    if policy_version.published_at is None:
        raise NotFound("No such policy version.")
    acknowledgement, created = PolicyAcknowledgement.objects.get_or_create(
        user=user, policy_version=policy_version, defaults={"ip_address": ip}
    )
    if created:
        audit_log_record(event_type="privacy.policy_acknowledged", actor=user, target=policy_version, extra={"ip": ip})
    return acknowledgement


# --- profile (update requests a user can do themself) ---


def profile_update(*, user: User, full_name: str, phone_number: str) -> User:
    return user_update_profile(user=user, full_name=full_name, phone_number=_normalise_phone(phone_number))


# --- contact inquiries ---


@transaction.atomic
def inquiry_submit(
    *,
    full_name: str,
    email: str,
    subject: str,
    message: str,
    phone_number: str = "",
    is_privacy: bool = False,
    user: User | None = None,
    ip: str | None = None,
    received_at: datetime | None = None,
) -> ContactInquiry:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(f"{email!r} is not a valid e-mail address.", code="invalid_email")
    if not subject.strip() or not message.strip():
        raise ApplicationError("Write a subject and a message.", code="message_required")
    received_at = received_at or timezone.now()
    inquiry = ContactInquiry(
        full_name=full_name.strip()[:150],
        email=email,
        phone_number=(phone_number or "").strip()[:20],
        subject=subject.strip()[:200],
        message=message.strip()[:10000],
        is_privacy=is_privacy,
        user=user if user is not None and user.is_authenticated else None,
        received_at=received_at,
        submitted_ip=ip,
    )
    inquiry.due_at = sla.due_at_compute(rule=inquiry.sla_rule, received_at=received_at)
    inquiry.save()
    staff = [settings.PRIVACY_OFFICER_EMAIL] if is_privacy else list(settings.OPS_ALERT_EMAILS)

    def _notify():
        send_mail(
            subject=f"We received your message: {inquiry.subject}",
            message=(
                "Thank you for contacting us. We aim to respond to all inquiries within 48 hours during "
                "business "
                f"days; you will hear from us by {_deadline_day(inquiry.due_at)}.\n"
            ),
            from_email=None,
            recipient_list=[inquiry.email],
            fail_silently=True,
        )
        send_mail(
            subject=f"New inquiry: {inquiry.subject}",
            message=(
                f"From {inquiry.full_name} <{inquiry.email}>, due {inquiry.due_at:%Y-%m-%d %H:%M}:\n\n{inquiry.message}"
            ),
            from_email=None,
            recipient_list=staff,
            fail_silently=True,
        )

    transaction.on_commit(_notify)
    return inquiry


@transaction.atomic
def inquiry_answer(*, inquiry: ContactInquiry, actor: User, answer: str) -> ContactInquiry:
    _require_staff(actor)
    if not answer.strip():
        raise ApplicationError("Write the answer.", code="answer_required")
    inquiry = ContactInquiry.objects.select_for_update().get(pk=inquiry.pk)
    if inquiry.status != InquiryStatus.OPEN:
        raise Conflict("This inquiry is already answered or closed.", code="inquiry_closed")
    inquiry.answer = answer.strip()
    inquiry.answered_at = timezone.now()
    inquiry.answered_by = actor
    inquiry.status = InquiryStatus.ANSWERED
    inquiry.save(update_fields=["answer", "answered_at", "answered_by", "status"])
    audit_log_record(event_type="privacy.inquiry_answered", actor=actor, target=inquiry)
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Re: {inquiry.subject}",
            message=inquiry.answer,
            from_email=None,
            recipient_list=[inquiry.email],
        )
    )
    return inquiry


@transaction.atomic
def inquiry_close(*, inquiry: ContactInquiry, actor: User, note: str) -> ContactInquiry:
    _require_staff(actor)
    inquiry = ContactInquiry.objects.select_for_update().get(pk=inquiry.pk)
    inquiry.status = InquiryStatus.CLOSED
    inquiry.answer = note.strip() or inquiry.answer
    inquiry.answered_by = actor
    inquiry.answered_at = inquiry.answered_at or timezone.now()
    inquiry.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    audit_log_record(event_type="privacy.inquiry_closed", actor=actor, target=inquiry, extra={"note": note})
    return inquiry
