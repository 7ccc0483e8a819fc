"""A user sees the banner of a material policy change, reads and acknowledges it, and switches optional processing
off from the privacy centre; the public policy page shows the retention table."""

from datetime import date

import pytest
from playwright.sync_api import expect

from accounts.models import User
from privacy import policy as privacy_policy
from privacy.data.models import ProcessingKind
from privacy.data.objections import user_allows
from privacy.models import PolicyAcknowledgement, PolicyVersion

pytestmark = pytest.mark.browser


def test_policy_banner_acknowledgement_and_processing_switches(signed_in_page, owner_a, transactional_db):
    privacy_policy.privacy_seed_policy()
    staff = User.objects.create_user(email="dpo@operator.example", password="x" * 12, is_staff=True)
    change = PolicyVersion.objects.create(
        version=2,
        body_markdown="## 1. Introduction\n\nWe now keep delivery receipts for 90 days.",
        last_updated=date(2026, 1, 15),
        effective_date=date(2026, 1, 15),
        material_change=True,
        summary_of_changes="Delivery receipts are kept for 90 days.",
    )
    privacy_policy.policy_publish(policy_version=change, actor=staff)

    page = signed_in_page(owner_a)
    banner = page.locator("#privacy-policy-banner")
    expect(banner).to_contain_text("We updated our Privacy Policy")
    banner.get_by_role("link", name="Read it").click()
    expect(page.locator("#policy-text")).to_contain_text("delivery receipts for 90 days")
    expect(page.locator("#retention-table")).to_be_visible()
    page.go_back()
    page.locator("#privacy-policy-banner button", has_text="I have read it").click()
    expect(page.locator("#privacy-policy-banner")).to_have_count(0)
    assert PolicyAcknowledgement.objects.filter(user=owner_a, policy_version=change).exists()

    page.click("nav >> text=Privacy")
    row = page.locator('#processing-choices [data-processing="usage_analytics"]')
    expect(row).to_contain_text("allowed")
    row.get_by_role("button", name="Stop").click()
    expect(page.locator('#processing-choices [data-processing="usage_analytics"]')).to_contain_text("stopped")
    assert not user_allows(user=owner_a, processing=ProcessingKind.USAGE_ANALYTICS)
