"""A confirmed campaign whose background run was lost (the enqueue after the commit failed, a worker stopped) is
run again by the periodic job, in every organization, and not while its messages are still being created."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.campaigns import selectors, services
from messaging.campaigns.models import CampaignStatus
from messaging.contacts import services as contact_services
from messaging.models import Message

LATER = services.CAMPAIGN_STALLED_AFTER + timedelta(minutes=1)


@pytest.fixture
def confirmed_without_a_run(funded):
    """Confirm a campaign of `organization` to two contacts. The test's transaction never commits, so its run (enqueued
    on commit) never starts: what a lost enqueue leaves."""

    def confirm(organization, owner):
        group = contact_services.group_create(organization=organization, name="Customers")
        for number in ("09171234567", "09181234567"):
            contact = contact_services.contact_create(organization=organization, phone_number=number)
            contact_services.group_members_set(organization=organization, group_id=group.pk, add=[contact.pk])
        campaign = services.campaign_create(
            organization=organization, actor=owner, name="Sale", group_ids=[group.pk], body="Sale today"
        )
        return services.campaign_confirm(organization=organization, actor=owner, campaign_id=campaign.pk)

    return confirm


def test_a_lost_run_is_started_again_once_the_campaign_has_stalled(
    org_a, owner_a, org_b, owner_b, confirmed_without_a_run, django_capture_on_commit_callbacks
):
    campaign_a = confirmed_without_a_run(org_a, owner_a)
    campaign_b = confirmed_without_a_run(org_b, owner_b)
    assert services.campaigns_resume_stalled() == 0  # just confirmed: its run may still be on its way

    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_resume_stalled(now=timezone.now() + LATER) == 2

    for organization, campaign in ((org_a, campaign_a), (org_b, campaign_b)):
        campaign = selectors.campaign_get(organization=organization, campaign_id=campaign.pk)
        assert campaign.status == CampaignStatus.SENDING and campaign.recipients_done == 2
        assert Message.objects.for_organization(organization).filter(campaign=campaign).count() == 2
    assert services.campaigns_resume_stalled(now=timezone.now() + LATER) == 0  # nothing twice


def test_a_campaign_still_creating_messages_is_left_to_its_run(org_a, owner_a, confirmed_without_a_run):
    campaign = confirmed_without_a_run(org_a, owner_a)
    now = timezone.now() + LATER
    services.message_send(
        organization=org_a, recipients=["09171234567"], body="Sale today", campaign=campaign, channel="dashboard"
    )
    Message.objects.for_organization(org_a).filter(campaign=campaign).update(created_at=now - timedelta(minutes=1))

    assert services.campaigns_resume_stalled(now=now) == 0
    assert services.campaigns_resume_stalled(now=now + services.CAMPAIGN_STALLED_AFTER) == 1
