"""Messaging in staff's admin (`portal.staff_attention`): the landing page's panel (providers whose circuit is not
closed, providers near their monthly quota, each linking to the admin list of those providers) and an organization's
messages this month."""

from django.utils import timezone

from messaging.dispatch.quota import provider_usage_this_month
from messaging.models import CircuitState, Message, Provider
from portal.staff_attention import AttentionItem, AttentionPanel, OrganizationFact, admin_list_url, ids_lookup
from portal.timezone import month_bounds, month_start

# Staff hear of a quota while there is still room to raise it or buy more: at 80 % of the month's messages.
NEAR_QUOTA_SHARE = 0.8


def messaging_attention() -> AttentionPanel:
    providers = list(Provider.objects.filter(enabled=True).order_by("priority", "id"))
    not_closed = [p for p in providers if p.circuit_state != CircuitState.CLOSED]
    with_quota = [p for p in providers if p.monthly_quota]
    usage = provider_usage_this_month(providers=with_quota) if with_quota else {}
    near_quota = [p for p in with_quota if usage.get(p.pk, 0) >= p.monthly_quota * NEAR_QUOTA_SHARE]
    return AttentionPanel(
        title="SMS providers",
        items=[
            AttentionItem(
                label="providers with an open circuit (skipped by dispatch)",
                count=len(not_closed),
                url=admin_list_url(Provider, pk__in=ids_lookup(p.pk for p in not_closed)),
                level="danger",
                detail=", ".join(f"{p.name}: {p.get_circuit_state_display().lower()}" for p in not_closed),
            ),
            AttentionItem(
                label="providers near their monthly quota",
                count=len(near_quota),
                url=admin_list_url(Provider, pk__in=ids_lookup(p.pk for p in near_quota)),
                detail=", ".join(f"{p.name}: {usage[p.pk]} of {p.monthly_quota}" for p in near_quota),
            ),
        ],
    )


def messaging_organization_facts(*, organization_id: int) -> list[OrganizationFact]:
    month_began, _ = month_bounds(month_start(timezone.now()))
    # Admin counts any organization's messages by its id: staff work across tenants.
    sent_this_month = (
        Message.objects.unscoped().filter(organization_id=organization_id, created_at__gte=month_began).count()
    )
    return [
        OrganizationFact(
            label="Messages this month",
            value=str(sent_this_month),
            url=admin_list_url(Message, organization__id__exact=organization_id),
        )
    ]
