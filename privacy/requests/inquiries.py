"""Contact inquiries (policy §9): the support and privacy contact form, answered within 48 hours on business days.

The sender is acknowledged and staff are told after commit; the privacy officer gets the inquiries about personal
data, operations the rest.
"""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_log_record
from portal.errors import ApplicationError, Conflict
from portal.timezone import operator_tz
from privacy import sla
from privacy.requests.correspondence import deadline_day
from privacy.requests.models import ContactInquiry, InquiryStatus
from privacy.requests.workflow import require_staff


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
                f"days; you will hear from us by {deadline_day(inquiry.due_at)}.\n"
            ),
            from_email=None,
            recipient_list=[inquiry.email],
            fail_silently=True,
        )
        send_mail(
            subject=f"New inquiry: {inquiry.subject}",
            message=(
                f"From {inquiry.full_name} <{inquiry.email}>, due "
                f"{inquiry.due_at.astimezone(operator_tz()):%Y-%m-%d %H:%M} (Philippine time):\n\n{inquiry.message}"
            ),
            from_email=None,
            recipient_list=staff,
            fail_silently=True,
        )

    transaction.on_commit(_notify)
    return inquiry


@transaction.atomic
def inquiry_answer(*, inquiry: ContactInquiry, actor: User, answer: str) -> ContactInquiry:
    require_staff(actor)
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
    require_staff(actor)
    inquiry = ContactInquiry.objects.select_for_update().get(pk=inquiry.pk)
    inquiry.status = InquiryStatus.CLOSED
    inquiry.answer = note.strip() or inquiry.answer
    inquiry.answered_by = actor
    inquiry.answered_at = inquiry.answered_at or timezone.now()
    inquiry.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    audit_log_record(event_type="privacy.inquiry_closed", actor=actor, target=inquiry, extra={"note": note})
    return inquiry


# --- reads ---


def inquiry_board(*, now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    rows = []
    for inquiry in (
        ContactInquiry.objects.filter(status=InquiryStatus.OPEN).select_related("assignee").order_by("due_at")
    ):
        rows.append(
            {
                "inquiry": inquiry,
                "band": sla.band_for(due_at=inquiry.due_at, now=now),
                "hours_left": int((inquiry.due_at - now).total_seconds() // 3600),
            }
        )
    return rows
