"""Reads of templates and campaigns, each campaign with its progress: messages per status, counted in one query
for a whole page of campaigns."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet

from messaging.campaigns.models import Campaign, CampaignStatus, MessageTemplate
from messaging.contacts.models import ContactGroup
from messaging.models import Message, MessageStatus
from portal.errors import NotFound

# Messages no longer waiting for a provider: they count as done in a campaign's progress.
WAITING_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING)


def template_list(*, organization) -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.for_organization(organization).order_by("name", "id")


def template_get(*, organization, template_id: int) -> MessageTemplate:
    template = template_list(organization=organization).filter(pk=template_id).first()
    if template is None:
        raise NotFound("No such template.")
    return template


@dataclass
class CampaignProgress:
    counts: dict[str, int] = field(default_factory=dict)  # every message status, zeros included
    created: int = 0
    done: int = 0
    percent: int = 0
    label: str = ""


def progress_of(campaign: Campaign, counts: dict[str, int]) -> CampaignProgress:
    counts = {**dict.fromkeys(MessageStatus.values, 0), **counts}
    created = sum(counts.values())
    done = created - sum(counts[s] for s in WAITING_STATUSES)
    total = max(campaign.recipients_total, created)
    label = campaign.get_status_display()
    if campaign.status == CampaignStatus.SENDING and created and done == created:
        label = "Sent"
    return CampaignProgress(
        counts=counts, created=created, done=done, percent=int(100 * done / total) if total else 0, label=label
    )


def campaign_list(*, organization) -> QuerySet[Campaign]:
    return Campaign.objects.for_organization(organization).select_related("template").order_by("-created_at", "-id")


def campaigns_with_progress(*, organization, campaigns: list[Campaign]) -> list[Campaign]:
    """Sets `.progress` on each campaign: one query for all of them, whatever their number."""
    rows = (
        Message.objects.for_organization(organization)
        .filter(campaign_id__in=[c.pk for c in campaigns])
        .values("campaign_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["campaign_id"], {})[row["status"]] = row["n"]
    for campaign in campaigns:
        campaign.progress = progress_of(campaign, counts.get(campaign.pk, {}))
    return campaigns


def groups_prefetch(*, organization) -> Prefetch:
    """The campaigns' groups, read scoped to the organization (one query for a page of campaigns)."""
    return Prefetch("groups", queryset=ContactGroup.objects.for_organization(organization).order_by("name"))


def campaign_get(*, organization, campaign_id: int, with_progress: bool = True) -> Campaign:
    groups = groups_prefetch(organization=organization)
    campaign = campaign_list(organization=organization).prefetch_related(groups).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound("No such campaign.")
    if with_progress:
        campaigns_with_progress(organization=organization, campaigns=[campaign])
    return campaign
