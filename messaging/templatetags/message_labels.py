"""What people read about a message's status: a message through a provider that reports no handset receipt
(Semaphore) stays `sent` for good, and says so instead of looking like it is still on its way."""

from django import template

from messaging.models import MessageStatus
from messaging.ui_selectors import provider_reports_receipts

register = template.Library()


@register.filter
def sent_without_receipt(message) -> bool:
    """True for a `sent` message whose route's provider never reports delivery (provider loaded with the row)."""
    return message.status == MessageStatus.SENT and not provider_reports_receipts(message.provider)
