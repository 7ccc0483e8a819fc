"""Proving a mobile number: only a proven number reaches the messages sent to it (export, erasure, SMS objection).

- A signed-in person proves a number in the privacy centre with a one-time code sent to it through the portal's
  own SMS path (the operator's organization pays). A number that asked for no SMS still gets the one code its
  holder asked for (at most one a day), and the proof records that.
- Staff mark a number proven on any open request, saying how they checked it (no status change).

A proof of the account holder's number applies to every request of theirs with that number, and their open
requests without a number take it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from accounts.services import audit_log_record
from messaging.models import MessageStatus
from messaging.services.otp import otp_send, otp_verify
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError, Conflict
from privacy.data.objections import recipient_is_suppressed, suppression_exception_grant
from privacy.requests.intake import OTP_TEMPLATE, phone_normalise, privacy_operator_organization
from privacy.requests.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    PhoneProof,
    PhoneProofMethod,
    VerificationMethod,
)
from privacy.requests.workflow import event_record, request_lock, require_staff

OPTED_OUT_REASON = "The holder asked for a proof code in the privacy centre, although the number opted out of SMS."


def proven_phone_number(request: DataSubjectRequest) -> str:
    """The requester's mobile number, only once they proved it is theirs: a one-time code sent to it (with the
    request, or in the privacy centre), or a staff check. A number typed into a form or a profile proves nothing,
    and the messages sent to a number belong to every tenant that sent them, so an unproven number never reaches
    export, erasure or objection."""
    if request.verification_method in (VerificationMethod.SMS, VerificationMethod.STAFF):
        return request.phone_number or (request.user.phone_number if request.user_id else "")
    number = request.phone_number
    if not number and request.user_id:
        try:
            number = phone_normalise(request.user.phone_number)
        except ApplicationError:
            return ""
    if not number:
        return ""
    owner = Q(request_id=request.pk)
    if request.user_id:
        owner |= Q(user_id=request.user_id)
    return number if PhoneProof.objects.filter(owner, phone_hash=phone_lookup_hash(number)).exists() else ""


def proven_numbers(*, user: User) -> list[PhoneProof]:
    return list(PhoneProof.objects.filter(user=user).order_by("-proven_at"))


def phone_code_send(*, user: User, phone_number: str) -> bool:
    """Send a proof code to `phone_number` for the signed-in `user`. True when the number had opted out of SMS and
    this one code went through at the holder's own request (recorded)."""
    number = phone_normalise(phone_number)
    if not number:
        raise ApplicationError("Give the mobile number to prove.", code="phone_required")
    operator = privacy_operator_organization()
    despite_opt_out = recipient_is_suppressed(phone_number=number)
    if despite_opt_out:
        lifetime = timedelta(seconds=settings.SMS_OTP_TTL_SECONDS + 300)  # the code's life, and time to go out
        granted = suppression_exception_grant(
            phone_number=number, organization_id=operator.pk, user=user, reason=OPTED_OUT_REASON, lifetime=lifetime
        )
        if not granted:
            raise Conflict(
                "This number asked not to receive SMS, and we already sent it one code today at your request. "
                "Try again tomorrow, or ask us to check the number another way.",
                code="opted_out_code_used",
            )
    with transaction.atomic():
        challenge = otp_send(organization=operator, phone_number=number, template=OTP_TEMPLATE, actor=user)
    if challenge.message.status == MessageStatus.REJECTED:
        raise ApplicationError("We could not send the code to this number.", code="otp_not_sent", status=503)
    audit_log_record(
        event_type="privacy.phone_code_sent", actor=user, target=user, extra={"despite_opt_out": despite_opt_out}
    )
    return despite_opt_out


@transaction.atomic
def phone_code_confirm(*, user: User, phone_number: str, code: str) -> PhoneProof:
    """Check the code; the number is then proven for the user and joins their open requests that have none."""
    number = phone_normalise(phone_number)
    if not otp_verify(organization=privacy_operator_organization(), phone_number=number, code=(code or "").strip()):
        raise ApplicationError("That code is wrong or has expired.", code="invalid_code")
    despite_opt_out = recipient_is_suppressed(phone_number=number)
    proof = PhoneProof.objects.create(
        user=user, phone_number=number, method=PhoneProofMethod.SMS, despite_opt_out=despite_opt_out, proven_by=user
    )
    if not user.phone_number:
        User.objects.filter(pk=user.pk).update(phone_number=number)
    open_requests = DataSubjectRequest.objects.filter(user=user, status__in=OPEN_STATUSES).filter(
        Q(phone_number="") | Q(phone_hash=phone_lookup_hash(number))
    )
    for request in open_requests.select_for_update():
        if not request.phone_number:
            request.phone_number = number
            request.save(update_fields=["phone_number", "updated_at"])
        event_record(request, action="phone_proven", actor=user, note="SMS code in the privacy centre")
    audit_log_record(event_type="privacy.phone_proven", actor=user, target=proof, extra={"method": "sms"})
    return proof


@transaction.atomic
def request_phone_prove_by_staff(
    *, request: DataSubjectRequest, actor: User, note: str, phone_number: str = ""
) -> PhoneProof:
    """Staff checked that the number is the requester's (how: `note`). Any open request, whatever its status."""
    require_staff(actor)
    if not (note or "").strip():
        raise ApplicationError("Say how the number was checked.", code="note_required")
    request = request_lock(request)
    if not request.is_open:
        raise Conflict(f"{request.reference} is {request.get_status_display().lower()}.", code="request_closed")
    number = phone_normalise(phone_number or request.phone_number)
    if not number:
        raise ApplicationError("Give the number that was checked.", code="phone_required")
    proof = PhoneProof.objects.create(
        request=request,
        user=request.user if request.user_id else None,
        phone_number=number,
        method=PhoneProofMethod.STAFF,
        note=note.strip(),
        proven_by=actor,
    )
    if request.phone_number != number:
        request.phone_number = number
        request.save(update_fields=["phone_number", "updated_at"])
    event_record(request, action="phone_proven", actor=actor, note=note.strip())
    audit_log_record(event_type="privacy.phone_proven", actor=actor, target=request, extra={"method": "staff"})
    return proof
