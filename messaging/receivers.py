"""Messaging's answers to the hooks of the layers below it (`portal.hooks`), registered in `MessagingConfig.ready`."""

from django.conf import settings
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Organization
from messaging.contacts.selectors import organization_opted_out_lookup
from messaging.health import messaging_readiness
from messaging.metrics import register_collectors
from messaging.models import Message, MessageStatus
from messaging.notice_selectors import notices_cache_connect
from messaging.services.providers import provider_seed_demo_chain
from messaging.services.sending import messages_cancel_queued
from portal import hooks


def register() -> None:
    """Connect every answer; called once from `MessagingConfig.ready` (idempotent)."""
    hooks.organization_closed.connect(queue_cancel_on_close, dispatch_uid="messaging.queue_cancel_on_close")
    hooks.statement_traffic.register(statement_traffic)
    hooks.demo_seeders.register(demo_provider_chain_seed)
    hooks.readiness_checks.register(messaging_readiness)
    # The organization's own opt-out list suppresses its sends beside the platform's suppressions (privacy).
    hooks.send_suppressions.register(organization_opted_out_lookup)
    register_collectors()
    notices_cache_connect()  # the notices above every page are cached briefly: dropped when one changes


def queue_cancel_on_close(sender, *, organization_id: int, reason: str, **kwargs) -> dict:
    """A closed organization sends nothing more: cancel and refund its queue (in the closing transaction)."""
    organization = Organization.objects.get(pk=organization_id)
    return {"queued_messages_cancelled": messages_cancel_queued(organization=organization, reason=reason or "closed")}


def statement_traffic(*, organization_id: int, start, end) -> list[dict]:
    """The organization's messages created in [start, end) per network and provider, for billing's statement."""
    # Never handed to a network (opted out, refused by the provider, cancelled): any charge was refunded.
    never_sent = [MessageStatus.REJECTED, MessageStatus.CANCELLED]
    # Failed messages are refunded; expired ones reached the network and stay charged.
    failed = [MessageStatus.FAILED]
    rows = (
        Message.objects.filter(organization_id=organization_id, created_at__gte=start, created_at__lt=end)
        .exclude(status__in=never_sent)
        .values("network", provider_name=Coalesce(F("provider__name"), Value("")))
        .annotate(
            message_count=Count("id"),
            segment_total=Coalesce(Sum("segments"), 0),
            failed_segment_total=Coalesce(Sum("segments", filter=Q(status__in=failed)), 0),
        )
        .order_by("network", "provider_name")
    )
    return [
        {
            "network": row["network"],
            "provider": row["provider_name"] or "(not yet routed)",
            "messages": row["message_count"],
            "segments": row["segment_total"],
            "failed_segments": row["failed_segment_total"],
            "billable_segments": row["segment_total"] - row["failed_segment_total"],
        }
        for row in rows
    ]


def demo_provider_chain_seed(*, stdout) -> None:
    """Demo data: the provider chain on the bundled simulator."""
    provider_seed_demo_chain(simulator_url=settings.PROVIDER_SIMULATOR_URL)
