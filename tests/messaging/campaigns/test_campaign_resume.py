"""A confirmed campaign whose background run was lost (the enqueue after the commit failed, a worker stopped) is
run again by the periodic job, in every organization, and not while its messages are still being created."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from billing.selectors import balance_get
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_campaign_take_its_batches_in_turn(org_a, owner_a, funded, settings, monkeypatch):
    # What a resumed campaign meets when its first run was only slow: both runs at once, on committed rows.
    settings.SMS_MAX_RECIPIENTS_PER_REQUEST = 2
    monkeypatch.setattr(services, "enqueue_on_commit", lambda *args, **kwargs: None)  # the runs start below
    group = contact_services.group_create(organization=org_a, name="Everyone")
    numbers = [f"0917{index:07d}" for index in range(10)]
    for number in numbers:
        contact = contact_services.contact_create(organization=org_a, phone_number=number)
        contact_services.group_members_set(organization=org_a, group_id=group.pk, add=[contact.pk])
    campaign = services.campaign_create(
        organization=org_a, actor=owner_a, name="Sale", group_ids=[group.pk], body="Sale today"
    )
    services.campaign_confirm(organization=org_a, actor=owner_a, campaign_id=campaign.pk)
    start = balance_get(organization=org_a)
    errors = []

    def run():
        try:
            services.campaign_process(campaign_id=campaign.pk)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(60)

    assert errors == []
    sent = Message.objects.for_organization(org_a).filter(campaign=campaign)
    assert sorted(message.recipient for message in sent) == sorted(f"+63{number[1:]}" for number in numbers)
    assert start - balance_get(organization=org_a) == sum(message.price for message in sent)
    campaign = selectors.campaign_get(organization=org_a, campaign_id=campaign.pk)
    assert campaign.status == CampaignStatus.SENDING and campaign.recipients_done == 10
