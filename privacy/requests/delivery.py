"""Sending one logged e-mail about a request: the work of `privacy.requests.tasks.request_message_deliver_task`."""

import logging

from django.core.mail import send_mail
from django.utils import timezone

from privacy.requests.models import RequestMessage

logger = logging.getLogger(__name__)


def request_message_deliver(*, message_id: int) -> RequestMessage:
    """Send one logged e-mail; records sent_at, or the error (a retry by staff calls this again)."""
    message = RequestMessage.objects.get(pk=message_id)
    if message.sent_at is not None:
        return message
    # An erased requester's address is kept encrypted on the message only until it is sent.
    recipients = [message.erased_recipient] if message.erased_recipient else list(message.recipients)
    try:
        send_mail(
            subject=message.subject,
            message=message.body,
            from_email=None,
            recipient_list=recipients,
        )
    except Exception as exc:  # the log must say why the requester was not told, whatever the mail backend raised
        logger.exception("privacy e-mail %s could not be sent", message_id)
        error = str(exc).replace(message.erased_recipient, "[erased]") if message.erased_recipient else str(exc)
        RequestMessage.objects.filter(pk=message_id).update(error=error[:2000])
        message.error = error
        return message
    message.sent_at = timezone.now()
    message.error = ""
    RequestMessage.objects.filter(pk=message_id).update(sent_at=message.sent_at, error="", erased_recipient="")
    message.erased_recipient = ""
    return message
