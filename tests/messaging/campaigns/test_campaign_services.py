"""Campaign services: merge fields rendered per contact (unknown or empty fields are per-recipient errors, never
sent literally), duplicates across groups sent once unless asked, per-status counts, scheduling, and cancel before
the start refunding every message."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.selectors import balance_get, message_price
from billing.services import credits_adjust
from messaging.campaigns import merge, selectors, services
from messaging.campaigns.models import CampaignStatus
from messaging.campaigns.preview import campaign_preview, group_contact_ids
from messaging.contacts import importing
from messaging.contacts import services as contact_services
from messaging.contacts.models import ContactGroup
from messaging.contacts.selectors import contact_list
from messaging.models import Message, MessageStatus
from portal.errors import ApplicationError, Conflict, NotFound
from tests.messaging.address_book_fixtures import MAPPING, contacts_csv


def test_render_fills_fields_and_reports_unknown_or_empty_ones():
    assert merge.render("Hi {name}!", {"name": "Ana"}) == merge.Rendered("Hi Ana!")
    assert merge.render("Hi {First Name}", {"first_name": "Ana"}).text == "Hi Ana"
    unknown = merge.render("Hi {nmae}!", {"name": "Ana"}, known={"name"})
    assert "Unknown merge field {nmae}" in unknown.error
    empty = merge.render("See you in {city}", {"name": "Ben"}, known={"name", "city"})
    assert empty.error == "Empty merge field {city} for this recipient."
    assert merge.render("JSON {} and { x } stay", {}).text == "JSON {} and { x } stay"


@pytest.fixture
def groups(org_a, funded):
    importing.contacts_import(organization=org_a, data=contacts_csv(), mapping=MAPPING, group_name="VIP")
    contact_services.contact_create(organization=org_a, phone_number="09191234567", name="Cara")
    vip = ContactGroup.objects.for_organization(org_a).get(name="VIP")
    everyone = contact_services.group_create(organization=org_a, name="Everyone")
    contact_services.group_members_set(
        organization=org_a,
        group_id=everyone.pk,
        add=[c.pk for c in org_a_contacts(org_a)],
    )
    return vip, everyone


def org_a_contacts(org_a):
    return list(contact_list(organization=org_a))


@pytest.fixture
def confirm(django_capture_on_commit_callbacks):
    """Confirm a campaign and run its background part (enqueued on commit) as the worker would."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return services.campaign_confirm(**kwargs)

    return run


def test_preview_renders_each_recipient_and_shows_duplicates_and_errors(org_a, groups):
    vip, everyone = groups
    ids = group_contact_ids(groups=[vip, everyone])
    preview = campaign_preview(
        organization=org_a, body="Hi {name} of {city}!", contact_ids=ids, send_to_duplicates=False
    )
    assert preview.total == 5 and preview.duplicate_occurrences == 2 and preview.duplicates == 2
    texts = {row.number: row for row in preview.rows if row.sendable}
    assert texts["+639171234567"].text == "Hi Ana Cruz of Makati!"
    assert texts["+639171234567"].price == message_price(organization=org_a, segments=1)
    # Ben has no city, Cara no city either: errors, not "of !" or "{city}".
    errors = [row for row in preview.rows if row.error]
    assert {row.number for row in errors} == {"+639181234567", "+639191234567"}
    assert all("{city}" in row.error for row in errors)
    assert preview.sendable == 1 and preview.price_total == message_price(organization=org_a, segments=1)

    with_duplicates = campaign_preview(organization=org_a, body="Hi {name}", contact_ids=ids, send_to_duplicates=True)
    assert with_duplicates.sendable == 5 and with_duplicates.duplicates == 0


def test_confirmed_campaign_sends_once_per_number_with_counts(org_a, owner_a, groups, confirm):
    vip, everyone = groups
    campaign = services.campaign_create(
        organization=org_a, actor=owner_a, name="November sale", group_ids=[vip.pk, everyone.pk], body="Hi {name}!"
    )
    assert Message.objects.for_organization(org_a).count() == 0  # a draft creates nothing
    confirm(organization=org_a, actor=owner_a, campaign_id=campaign.pk)
    messages = Message.objects.for_organization(org_a).filter(campaign=campaign)
    assert sorted(m.body for m in messages) == ["Hi Ana Cruz!", "Hi Ben!", "Hi Cara!"]
    campaign = selectors.campaign_get(organization=org_a, campaign_id=campaign.pk)
    assert campaign.status == CampaignStatus.SENDING
    assert (campaign.recipients_total, campaign.duplicates_skipped) == (3, 2)
    assert campaign.progress.counts[MessageStatus.QUEUED] == 3 and campaign.progress.percent == 0
    ben = next(m for m in messages if m.body == "Hi Ben!")
    Message.objects.for_organization(org_a).filter(pk=ben.pk).update(status=MessageStatus.DELIVERED)
    campaign = selectors.campaign_get(organization=org_a, campaign_id=campaign.pk)
    assert campaign.progress.counts[MessageStatus.DELIVERED] == 1 and campaign.progress.percent == 33
    with pytest.raises(Conflict):
        confirm(organization=org_a, campaign_id=campaign.pk)
    with pytest.raises(Conflict):
        services.campaign_cancel(organization=org_a, campaign_id=campaign.pk)  # already going out


def test_a_text_no_recipient_can_take_is_refused(org_a, groups, confirm):
    vip, _ = groups
    campaign = services.campaign_create(organization=org_a, name="Typo", group_ids=[vip.pk], body="Hi {nmae}")
    with pytest.raises(ApplicationError) as exc:
        confirm(organization=org_a, campaign_id=campaign.pk)
    assert exc.value.code == "nothing_to_send"
    assert Message.objects.for_organization(org_a).count() == 0


def test_scheduled_campaign_cancelled_before_it_starts_is_refunded(org_a, owner_a, groups, confirm):
    vip, _ = groups
    start = balance_get(organization=org_a)
    campaign = services.campaign_create(
        organization=org_a,
        actor=owner_a,
        name="Tomorrow",
        group_ids=[vip.pk],
        body="Hi {name}",
        send_at=timezone.now() + timedelta(days=1),
    )
    confirm(organization=org_a, campaign_id=campaign.pk)
    campaign = selectors.campaign_get(organization=org_a, campaign_id=campaign.pk)
    assert campaign.status == CampaignStatus.SCHEDULED
    assert balance_get(organization=org_a) == start - 2 * message_price(organization=org_a, segments=1)
    cancelled = services.campaign_cancel(organization=org_a, actor=owner_a, campaign_id=campaign.pk)
    assert cancelled == 2
    assert balance_get(organization=org_a) == start
    statuses = set(Message.objects.for_organization(org_a).filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {MessageStatus.CANCELLED}
    assert selectors.campaign_get(organization=org_a, campaign_id=campaign.pk).status == CampaignStatus.CANCELLED


def test_campaign_stops_when_credits_run_out(org_a, groups, confirm):
    vip, _ = groups
    credits_adjust(organization=org_a, actor=None, amount=-balance_get(organization=org_a), reason="empty")
    campaign = services.campaign_create(organization=org_a, name="Broke", group_ids=[vip.pk], body="Hi {name}")
    confirm(organization=org_a, campaign_id=campaign.pk)
    campaign = selectors.campaign_get(organization=org_a, campaign_id=campaign.pk)
    assert campaign.status == CampaignStatus.STOPPED and "credit" in campaign.error_message.lower()
    assert campaign.progress.created == 0 and balance_get(organization=org_a) == Decimal("0")


def test_another_organizations_groups_and_campaigns_are_not_found(org_a, org_b, groups):
    vip, _ = groups
    with pytest.raises(NotFound):
        services.campaign_create(organization=org_b, name="Theirs", group_ids=[vip.pk], body="Hi")
    campaign = services.campaign_create(organization=org_a, name="Ours", group_ids=[vip.pk], body="Hi")
    with pytest.raises(NotFound):
        services.campaign_cancel(organization=org_b, campaign_id=campaign.pk)
    with pytest.raises(NotFound):
        selectors.campaign_get(organization=org_b, campaign_id=campaign.pk)
