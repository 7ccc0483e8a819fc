"""The correspondence of a request, and the links and dates it carries.

Every e-mail about a request is a `RequestMessage` row first and is sent by a task after commit
(`message_queue`), so the correspondence log is complete even when the mail server is down (the row then carries
the error and the board shows it).
"""

import hashlib
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from portal.timezone import operator_tz
from privacy import sla
from privacy.requests.models import DataSubjectRequest, MessageChannelKind, MessageDirection, RequestMessage
from privacy.requests.tasks import request_message_deliver_task
from privacy.requests.workflow import live_due_at

NPC_COMPLAINT_NOTICE = (
    "If you are not satisfied with this answer, you may file a complaint with the National Privacy "
    "Commission "
    "(NPC) of the Philippines: https://privacy.gov.ph/ , complaints@privacy.gov.ph."
)
EMAIL_VERIFY_SALT = "privacy.request.verify-email"
ERASED_RECIPIENT_LABEL = "(the requester's erased address)"


def status_token_hash(token: str) -> str:
    """The status link's token is shown once (and e-mailed); only this SHA-256 is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def status_url(token: str) -> str:
    return settings.SITE_URL + reverse("privacy:request_status", kwargs={"token": token})


def email_verify_url(request: DataSubjectRequest) -> str:
    signed = signing.dumps({"r": request.pk, "e": request.email}, salt=EMAIL_VERIFY_SALT)
    return settings.SITE_URL + reverse("privacy:request_verify_email", kwargs={"signed": signed})


def staff_alert_recipients() -> list[str]:
    return list(dict.fromkeys([*settings.OPS_ALERT_EMAILS, settings.PRIVACY_OFFICER_EMAIL]))


def message_queue(
    request: DataSubjectRequest,
    *,
    kind: str,
    subject: str,
    body: str,
    recipients: list[str] | None = None,
    actor=None,
    erased_recipient: str = "",
) -> RequestMessage:
    """Log an e-mail about `request` (to the requester unless `recipients` says otherwise); sent after commit.

    `erased_recipient`: the requester's address when the request's copy was erased; stored encrypted until sent,
    and the log shows only that it went to the erased address."""
    if erased_recipient:
        recipients = [ERASED_RECIPIENT_LABEL]
    message = RequestMessage.objects.create(
        request=request,
        kind=kind,
        direction=MessageDirection.OUTBOUND,
        channel=MessageChannelKind.EMAIL,
        erased_recipient=erased_recipient,
        recipients=recipients if recipients is not None else [request.email],
        subject=f"[{request.reference}] {subject}"[:200],
        body=body,
        sent_by=actor if actor is not None and getattr(actor, "pk", None) else None,
    )
    transaction.on_commit(partial(request_message_deliver_task.enqueue, message_id=message.id))
    return message


def dates_paragraph(request: DataSubjectRequest) -> str:
    due = live_due_at(request)
    return (
        f"Received: {request.received_at.astimezone(operator_tz()):%d %B %Y %H:%M} (Philippine time)\n"
        f"First answer by: {deadline_day(request.first_response_due_at)}\n"
        f"Full answer due by: {deadline_day(due)}"
    )


def admin_change_url(request: DataSubjectRequest) -> str:
    return reverse("admin:privacy_datasubjectrequest_change", args=[request.pk])


def deadline_day(deadline: datetime) -> str:
    """The deadline's last day, written as on every page and admin screen (`privacy.sla.due_label`)."""
    return sla.due_label(deadline)
