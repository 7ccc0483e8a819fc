"""What people read about a message's status: a message through a provider that reports no handset receipt
(Semaphore) stays `sent` for good, and says so instead of looking like it is still on its way."""

from django import template

from messaging.models import MessageStatus
from messaging.routing import SkipReason
from messaging.ui_selectors import provider_reports_receipts

register = template.Library()


@register.filter
def sent_without_receipt(message) -> bool:
    """True for a `sent` message whose route's provider never reports delivery (provider loaded with the row)."""
    return message.status == MessageStatus.SENT and not provider_reports_receipts(message.provider)


# Why a route was passed over, in customers' words: never the internal code or its counters
# ("IPROGSMS: monthly_quota_used - 20 of 20").
SKIP_REASON_TEXT = {
    SkipReason.DISABLED: "is switched off",
    SkipReason.NETWORK: "does not reach this network",
    SkipReason.PROVIDER_LIMIT: "had reached its monthly limit",
    SkipReason.QUOTA: "had reached its monthly limit",
    SkipReason.CIRCUIT_OPEN: "was not answering reliably",
    SkipReason.PROBE_IN_FLIGHT: "was being checked after problems",
    SkipReason.FAILED_FOR_MESSAGE: "could not take this message",
}


@register.filter
def skip_reason_text(reason: str) -> str:
    return SKIP_REASON_TEXT.get(reason, "was not available")
