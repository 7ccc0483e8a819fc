"""What a requester does: submit a request, prove who they are, answer our question, withdraw.

A signed-in user's request is verified by the session. Anyone else proves control of the e-mail address (a signed
link in the acknowledgement) or of the mobile number (a one-time code sent through the portal's own SMS path,
paid by the operator's organization). A verified request that asks the same as an open one is flagged as its
duplicate and answered with it. The profile changes a signed-in user may make themself need no request at all.
"""

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_log_record, user_update_profile
from messaging.models import MessageStatus
from messaging.numbers import normalize_ph_number
from messaging.services.otp import otp_send, otp_verify
from portal.crypto import email_lookup_hash, phone_lookup_hash
from portal.errors import ApplicationError, Conflict, NotFound
from privacy import sla
from privacy.data.models import ProcessingKind
from privacy.requests.correspondence import (
    EMAIL_VERIFY_SALT,
    dates_paragraph,
    email_verify_url,
    message_queue,
    staff_alert_recipients,
    status_token_hash,
    status_url,
)
from privacy.requests.models import (
    OPEN_STATUSES,
    ActorLabel,
    DataSubjectRequest,
    MessageChannelKind,
    MessageDirection,
    RequestChannel,
    RequestKind,
    RequestMessage,
    RequestStatus,
    VerificationMethod,
)
from privacy.requests.workflow import due_refresh, event_record, is_staff_actor, request_lock, transition

logger = logging.getLogger(__name__)

UPDATABLE_FIELDS = ("full_name", "phone_number", "email", "other")
SMS_OBJECTION = "sms"  # "stop sending SMS to my number": fulfilment turns it into a suppression
OTP_TEMPLATE = "Your privacy request code is :otp. It expires in 5 minutes. Do not share it."


def phone_normalise(raw: str) -> str:
    raw = (raw or "").strip()
    if not raw:
        return ""
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
        cleaned["phone_number"] = phone_normalise(cleaned["phone_number"])
    return cleaned


def objection_choices() -> list[tuple[str, str]]:
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
                phone_number = phone_normalise(user.phone_number)
            except ApplicationError:
                phone_number = ""
        verification_method = VerificationMethod.ACCOUNT
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(f"{email!r} is not a valid e-mail address.", code="invalid_email")
    phone_number = phone_normalise(phone_number)
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
    due_refresh(request)
    request.save()
    event_record(
        request, action="submitted", actor=user, actor_label=ActorLabel.REQUESTER, to_status=RequestStatus.SUBMITTED
    )
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
    message_queue(
        request,
        kind="acknowledgement",
        subject=f"We received your {RequestKind(kind).label.split(' (')[0].lower()} request",
        body=(
            # By name, or no greeting at all: "Hello ," reads like a mail merge gone wrong.
            (f"Hello {request.full_name.strip()},\n\n" if request.full_name.strip() else "")
            + f"We received your privacy request {request.reference} "
            f"({RequestKind(kind).label}).\n{dates_paragraph(request)}\n"
            f"{verify_line}\nFollow it (and withdraw it if you change your mind) "
            f"here:\n{status_url(token)}\n\n"
            "Keep this link private: anyone with it can see the status of your request.\n"
        ),
    )
    if verification_method == VerificationMethod.ACCOUNT:
        verify(request, actor=user, actor_label=ActorLabel.REQUESTER, note="Signed-in account")
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
    request = request_lock(request)
    if request.status != RequestStatus.SUBMITTED or request.verification_method != VerificationMethod.SMS:
        raise Conflict("This request does not wait for an SMS code.", code="not_awaiting_code")
    sent, error = _send_sms_code(request)
    if not sent:
        raise ApplicationError(f"We could not send the code: {error}", code="otp_not_sent", status=503)


def _find_original(request: DataSubjectRequest) -> DataSubjectRequest | None:
    same_person = Q(email_hash=email_lookup_hash(request.email))
    if request.user_id:
        same_person |= Q(user_id=request.user_id)
    if request.phone_number:
        same_person |= Q(phone_hash=phone_lookup_hash(request.phone_number))
    return (
        DataSubjectRequest.objects.filter(same_person, kind=request.kind, duplicate_of__isnull=True)
        .filter(status__in=[s for s in OPEN_STATUSES if s != RequestStatus.SUBMITTED])
        .exclude(pk=request.pk)
        .order_by("received_at")
        .first()
    )


def verify(request: DataSubjectRequest, *, actor=None, actor_label: str = "", note: str = "") -> DataSubjectRequest:
    request.verified_at = timezone.now()
    transition(request, to=RequestStatus.VERIFIED, actor=actor, actor_label=actor_label, note=note, action="verified")
    original = _find_original(request)
    if original is not None:
        request.duplicate_of = original
        request.save(update_fields=["duplicate_of", "updated_at"])
        event_record(
            request, action="flagged_duplicate", actor_label=ActorLabel.SYSTEM, note=f"Same as {original.reference}"
        )
        message_queue(
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
    request = DataSubjectRequest.objects.select_for_update().filter(pk=data.get("r")).first()
    if request is None or request.email != data.get("e"):
        raise NotFound("This link is not valid.", code="link_invalid")
    if request.status != RequestStatus.SUBMITTED:
        return request  # a second click changes nothing
    return verify(request, actor_label=ActorLabel.REQUESTER, note="E-mail link")


def request_verify_sms(*, request: DataSubjectRequest, code: str) -> DataSubjectRequest:
    """Check the one-time code. A wrong code is committed as a failed try (the OTP's attempt counter must not
    be rolled back by the error, or guessing would be free), then reported."""
    with transaction.atomic():
        request = request_lock(request)
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
            return verify(request, actor_label=ActorLabel.REQUESTER, note="SMS one-time code")
        event_record(
            request, action="verification_failed", actor_label=ActorLabel.REQUESTER, note="Wrong or expired SMS code"
        )
    raise ApplicationError("That code is wrong or has expired.", code="invalid_code")


# --- the requester's answers ---


@transaction.atomic
def request_requester_reply(*, request: DataSubjectRequest, body: str, actor: User | None = None) -> DataSubjectRequest:
    if not body.strip():
        raise ApplicationError("Write your answer.", code="body_required")
    request = request_lock(request)
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
    return transition(
        request,
        to=RequestStatus.IN_PROGRESS,
        actor=actor,
        actor_label=ActorLabel.REQUESTER,
        action="requester_replied",
    )


@transaction.atomic
def request_withdraw(*, request: DataSubjectRequest, actor: User | None = None, note: str = "") -> DataSubjectRequest:
    """The requester (status page, privacy centre, API) or staff on their behalf withdraws the request."""
    request = request_lock(request)
    label = ActorLabel.STAFF if is_staff_actor(actor) else ActorLabel.REQUESTER
    transition(request, to=RequestStatus.WITHDRAWN, actor=actor, actor_label=label, note=note, action="withdrawn")
    message_queue(
        request,
        kind="withdrawal",
        subject="Your request was withdrawn",
        body=f"Your request {request.reference} was withdrawn. Nothing more will be done with it.\n",
    )
    return request


# --- profile (update requests a user can do themself) ---


def profile_update(*, user: User, full_name: str, phone_number: str) -> User:
    return user_update_profile(user=user, full_name=full_name, phone_number=phone_normalise(phone_number))
