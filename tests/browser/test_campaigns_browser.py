"""A developer imports contacts from a CSV file choosing what each column is, builds a template with `{name}`,
previews a campaign to two groups (each recipient's text, segments and price, and the contact who is in both groups
shown as a duplicate), sends it through the provider simulator and follows its progress."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.services import credits_adjust
from messaging.campaigns.models import Campaign
from messaging.models import Message
from messaging.services.providers import provider_seed_demo_chain
from tests.browser.axe import assert_accessible
from tests.messaging.conftest import _provider_simulator_server, provider_simulator  # noqa: F401

pytestmark = pytest.mark.browser

CUSTOMERS = "Mobile,Full name,City\n0917 123 4567,Ana Cruz,Makati\n+639181234567,Ben Reyes,Pasig\n"
REGULARS = "Number,Who\n639171234567,Ana\n09191234567,Cara Lim\n"


def import_csv(page, path, *, phone: str, name: str, group: str):
    page.goto("/messages/contacts/")
    page.click("#import-link")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-button")
    page.wait_for_url("**/messages/contacts/import/*/")
    page.select_option(f'select[data-column="{phone}"]', "phone")
    page.select_option(f'select[data-column="{name}"]', "name")
    page.fill("#id_group_name", group)
    page.click("#import-button")
    page.wait_for_url("**/messages/contacts/?group=*")


def test_import_template_preview_and_send_a_campaign(
    signed_in_page,
    live_server,
    settings,
    developer_a,
    org_a,
    provider_simulator,  # noqa: F811 (the fixture imported above)
    transactional_db,
    tmp_path,
):
    settings.SMS_CALLBACK_BASE_URL = live_server.url
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    provider_seed_demo_chain(simulator_url=provider_simulator.base_url)
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test funds")
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "regulars.csv").write_text(REGULARS)

    page = signed_in_page(developer_a)
    page.click("nav >> text=Contacts")
    page.wait_for_url("**/messages/contacts/")
    import_csv(page, tmp_path / "customers.csv", phone="Mobile", name="Full name", group="Customers")
    expect(page.locator(".alert-success")).to_contain_text("2 contacts added")
    expect(page.locator("#contacts-table")).to_contain_text("city: Makati")
    # Ana again, written 63917...: the same contact, now in a second group.
    import_csv(page, tmp_path / "regulars.csv", phone="Number", name="Who", group="Regulars")
    expect(page.locator(".alert-success")).to_contain_text("1 contacts added, 1 updated")
    page.screenshot(path=str(tmp_path / "campaigns-contacts.png"), full_page=True)

    page.click("text=Templates")
    page.fill("#id_name", "Greeting")
    page.fill("#id_body", "Hi {name}! Our November sale starts today.")
    page.click("#template-save")
    expect(page.locator("#templates-table")).to_contain_text("Hi {name}!")

    page.click("nav >> text=Campaigns")
    page.click("#new-campaign")
    page.fill("#id_name", "November sale")
    page.get_by_label(re.compile(r"^Customers")).check()
    page.get_by_label(re.compile(r"^Regulars")).check()
    page.select_option("#id_template", label="Greeting")
    page.click("#preview-button")
    page.wait_for_url(re.compile(r".*/messages/campaigns/\d+/$"))

    expect(page.locator("#preview-sendable")).to_have_text("3")
    expect(page.locator("#preview-duplicates")).to_have_text("1")
    rows = page.locator("#preview-table .preview-row")
    expect(rows.filter(has_text="+639181234567")).to_contain_text("Hi Ben Reyes! Our November sale starts today.")
    expect(rows.filter(has_text="+639191234567")).to_contain_text("Hi Cara Lim!")
    duplicate = page.locator('#preview-table tr[data-duplicate="1"]')
    expect(duplicate).to_have_count(1)
    expect(duplicate).to_contain_text("+639171234567")
    expect(duplicate).to_contain_text("Duplicate")
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "campaigns-preview.png"), full_page=True)

    page.click("#campaign-confirm")
    expect(page.locator(".alert-success")).to_contain_text("Campaign confirmed")
    campaign = Campaign.objects.unscoped().get(organization=org_a)
    assert sorted(m.body for m in Message.objects.for_organization(org_a).filter(campaign=campaign)) == [
        "Hi Ana! Our November sale starts today.",
        "Hi Ben Reyes! Our November sale starts today.",
        "Hi Cara Lim! Our November sale starts today.",
    ]
    # The simulator accepts them (and may already have sent receipts): the campaign is done and shows its counts.
    expect(page.locator("#campaign-status")).to_have_text(re.compile(r"^(Sending|Sent)$"))
    page.reload()
    expect(page.locator("#campaign-percent")).to_have_text("100%")
    handed_over = sum(
        int(page.locator(f'#campaign-counts dd[data-status="{s}"]').inner_text()) for s in ("sent", "delivered")
    )
    assert handed_over == 3
    page.screenshot(path=str(tmp_path / "campaigns-progress.png"), full_page=True)

    page.click("#campaign-log-link")
    expect(page.locator("#message-log tbody tr.message-row")).to_have_count(3)
    page.click("nav >> text=Campaigns")
    expect(page.locator("#campaigns-table")).to_contain_text("November sale")
    expect(page.locator("#campaigns-table")).to_contain_text("3 of 3")
