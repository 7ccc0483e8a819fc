"""Staff sign in and land on admin's index, which lists what needs them; each finding opens the admin list of those
rows, and an organization's page shows its balance, this month's usage and links to its messages and payments."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.services import credits_adjust
from privacy.requests.models import DataSubjectRequest
from tests.browser.axe import assert_accessible
from tests.conftest import PASSWORD, make_user
from tests.privacy.data_helpers import make_request

pytestmark = pytest.mark.browser


def test_staff_land_on_what_needs_them_and_click_through(page, org_a, org_b, transactional_db):
    staff = make_user("ops@operator.example", is_staff=True, is_superuser=True)
    late = make_request(email="late@example.com")
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))
    credits_adjust(organization=org_a, actor=None, amount=Decimal("12.00"), reason="test")
    credits_adjust(organization=org_b, actor=None, amount=Decimal("5000.00"), reason="test")

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/admin/")

    landing = page.locator("#staff-attention")
    expect(landing.get_by_role("heading", name="Needs you now")).to_be_visible()
    expect(landing.locator(".attention-danger", has_text="overdue privacy requests")).to_contain_text("1")
    expect(landing.locator(".attention-warning", has_text="organizations low on credits")).to_contain_text("1")
    expect(landing.locator(".attention-clear", has_text="failed payments")).to_contain_text("0")
    assert_accessible(page)
    page.screenshot(path="/tmp/staff-landing.png", full_page=True)

    landing.get_by_role("link", name="overdue privacy requests").click()
    page.wait_for_url("**/admin/privacy/datasubjectrequest/?pk__in=*")
    expect(page.locator("#result_list")).to_contain_text("late@example.com")
    page.go_back()

    landing.get_by_role("link", name="organizations low on credits").click()
    page.wait_for_url("**/admin/billing/creditaccount/?pk__in=*")
    results = page.locator("#result_list")
    expect(results).to_contain_text("Alpha Retail")
    expect(results).not_to_contain_text("Bravo Clinic")

    page.goto(f"/admin/accounts/organization/{org_a.pk}/change/")
    facts = page.locator(".organization-facts")
    expect(facts).to_contain_text("Balance: 12.00 credits")
    expect(facts).to_contain_text("Usage this month")
    page.screenshot(path="/tmp/staff-organization.png", full_page=True)
    facts.locator("li", has_text="Messages this month").get_by_role("link").click()
    page.wait_for_url(f"**/admin/messaging/message/?organization__id__exact={org_a.pk}")
