"""What privacy-requests calls to fulfil a verified request: export, erasure, objection (contract in notes).

Each takes the `DataSubjectRequest` and hands the work to the data side; progress comes back through
`privacy.services.request_fulfilment_update(request_id=..., step="export"|"erasure", status=..., error=...)`.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction

from portal.errors import ApplicationError, Conflict
from privacy.data_models import DataExport, ErasureJob, ProcessingKind, SubjectKind, SuppressionSource
from privacy.erasure import erasure_job_create
from privacy.export import export_create
from privacy.export import export_download as _export_download
from privacy.objections import processing_objection_add, suppression_add

SMS_OBJECTION = "sms"  # privacy.services.SMS_OBJECTION: "stop sending SMS to my number"


def proven_phone_number(request) -> str:
    """The requester's mobile number, only once they proved it is theirs: a one-time code sent to it, or a
    staff check. A number typed into a form or a profile proves nothing, and the messages sent to a number
    belong to every tenant that sent them, so an unproven number never reaches export, erasure or objection."""
    from privacy.models import VerificationMethod

    if request.verification_method not in (VerificationMethod.SMS, VerificationMethod.STAFF):
        return ""
    return request.phone_number or (request.user.phone_number if request.user_id else "")


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


def export_download(
    *, export_id: int, token_or_user, ip: str | None, user_agent: str = ""
) -> tuple[str, Iterator[bytes]]:
    return _export_download(export_id=export_id, token_or_user=token_or_user, ip=ip, user_agent=user_agent)
