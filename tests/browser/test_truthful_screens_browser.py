"""Screens that tell the truth, clicked through in Chromium with screenshots kept in /tmp: an invitee joins the
organization that invited them; an owner renames the organization; the fallback notice is one line on a phone and
can be dismissed; the log's live refresh redraws the whole row and says when a provider sends no receipt."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Organization
from accounts.roles import Role
from accounts.services import invitation_create
from messaging.models import Message, MessageStatus, Notice
from messaging.routing import SkipReason
from messaging.services.notices import fallback_notice_publish
from tests.browser.axe import assert_accessible
from tests.conftest import PASSWORD
from tests.messaging.conftest import offline_chain  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def add_message(organization, provider, status):
    return Message.objects.create(
        organization=organization,
        recipient="+639171234567",
        network="globe",
        body="Your order has shipped",
        sender_name=provider.sender_name,
        encoding="gsm7",
        segments=1,
        price=Decimal("1.0000"),
        status=status,
        channel="api",
        provider=provider,
    )


def test_invitee_joins_the_organization_that_invited_them(page, org_a, admin_a, transactional_db):
    membership = Membership.objects.unscoped().get(user=admin_a, organization=org_a)
    _, token = invitation_create(
        organization=org_a, actor_membership=membership, email="maria@clinic.example", role=Role.DEVELOPER
    )
    page.goto(f"/invitations/{token}/")
    invitation = page.locator("#invitation")
    expect(invitation.get_by_role("heading", name="Join Alpha Retail")).to_be_visible()
    expect(invitation).to_contain_text("maria@clinic.example")
    expect(invitation).to_contain_text("Developer")
    assert_accessible(page)
    page.screenshot(path="/tmp/invitation.png", full_page=True)

    page.get_by_role("link", name="Create your account").click()
    page.wait_for_url("**/accounts/signup/")
    expect(page.locator("nav.navbar")).to_be_visible()  # the site's layout
    email = page.get_by_label("Email")
    expect(email).to_have_value("maria@clinic.example")
    assert email.bounding_box()["width"] > 300  # wide enough for an address
    page.get_by_label("Your name").fill("Maria Santos")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.screenshot(path="/tmp/invitee-sign-up.png", full_page=True)
    page.get_by_role("button", name="Sign Up").click()

    page.wait_for_url("**/dashboard/")  # no "verify your e-mail" stop: the invitation proved the address
    expect(page.locator("#org-name")).to_have_text("Alpha Retail")
    expect(page.get_by_text("Welcome to Alpha Retail.")).to_be_visible()
    page.screenshot(path="/tmp/invitee-dashboard.png", full_page=True)
    assert Organization.objects.count() == 1


def test_owner_renames_the_organization(page, owner_a, org_a, transactional_db):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner_a.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")
    page.goto("/organization/settings/")
    page.get_by_label("Organization name").fill("Alpha Retail Group")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_text("The organization is now called Alpha Retail Group.")).to_be_visible()
    expect(page.locator("#org-name")).to_have_text("Alpha Retail Group")
    page.screenshot(path="/tmp/organization-renamed.png", full_page=True)


def test_fallback_notice_on_a_phone_and_the_live_log_row(page, owner_a, org_a, offline_chain, transactional_db):  # noqa: F811
    primary, fallback = offline_chain
    notice = fallback_notice_publish(primary=primary, fallback=fallback, reason=SkipReason.QUOTA)
    Notice.objects.filter(pk=notice.pk).update(published_at=timezone.now() - timedelta(minutes=5))
    add_message(org_a, fallback, MessageStatus.SENT)
    on_its_way = add_message(org_a, primary, MessageStatus.SENDING)

    page.set_viewport_size(PHONE)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner_a.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")

    site_notice = page.locator(".site-notice")
    expect(site_notice).to_have_count(1)
    expect(site_notice).to_contain_text("SMS Fallback Route")
    assert site_notice.bounding_box()["height"] < 80  # one line: the text waits behind "Details"
    expect(site_notice.get_by_text("monthly limit")).to_be_hidden()
    page.screenshot(path="/tmp/fallback-notice-phone.png", full_page=True)
    site_notice.get_by_role("button", name="Dismiss this notice").click()
    expect(page.locator(".site-notice")).to_have_count(0)
    page.reload()
    expect(page.locator(".site-notice")).to_have_count(0)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/messages/")
    row = page.locator(f"#message-row-{on_its_way.pk}")
    expect(row).to_contain_text("sending")
    # The provider answers: the message went out through the fallback, which reports no receipt.
    Message.objects.for_organization(org_a).filter(pk=on_its_way.pk).update(
        status=MessageStatus.SENT, provider=fallback, sender_name="iprogtech", status_changed_at=timezone.now()
    )
    expect(row).to_contain_text("sent, no receipt from this provider", timeout=15000)
    expect(row.locator(".message-provider")).to_have_text("iprogtech fallback")
    expect(row.locator(".message-sender")).to_have_text("iprogtech")
    assert_accessible(page)
    page.screenshot(path="/tmp/log-row-refreshed.png", full_page=True)
