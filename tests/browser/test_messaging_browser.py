"""A developer types a message, watches the live segment count (GSM-7: 2 segments at 161 characters; an
emoji: UCS-2), sends it to a number through the provider simulator and finds it in the message log."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.services import credits_adjust
from messaging.models import Message
from messaging.services.providers import provider_seed_demo_chain
from tests.messaging.conftest import _provider_simulator_server, provider_simulator  # noqa: F401

pytestmark = pytest.mark.browser


def test_developer_sends_with_live_count_and_finds_it_in_the_log(
    signed_in_page,
    live_server,
    settings,
    developer_a,
    org_a,
    provider_simulator,  # noqa: F811 (the fixture imported above)
    transactional_db,  # noqa: F811
):
    settings.SMS_CALLBACK_BASE_URL = live_server.url
    provider_seed_demo_chain(simulator_url=provider_simulator.base_url)
    credits_adjust(organization=org_a, actor=None, amount=Decimal("100.00"), reason="test funds")

    page = signed_in_page(developer_a)
    page.click("nav >> text=Send")
    page.wait_for_url("**/messages/send/")

    body = page.locator("#id_body")
    body.fill("a" * 160)
    expect(page.locator("#count-segments")).to_have_text("1")
    expect(page.locator("#count-encoding")).to_have_attribute("data-encoding", "gsm7")
    expect(page.locator("#count-remaining")).to_have_text("0")

    body.press("End")
    body.press("a")  # the 161st character: a second segment (153 per part)
    expect(page.locator("#count-segments")).to_have_text("2")
    expect(page.locator("#count-characters")).to_have_text("161")

    body.fill("Salamat po! See you tomorrow")
    expect(page.locator("#count-segments")).to_have_text("1")
    body.press("End")
    page.keyboard.type(" 🎉")
    expect(page.locator("#count-encoding")).to_have_attribute("data-encoding", "ucs2")
    expect(page.locator("#count-non-gsm")).to_contain_text("🎉")

    page.fill("#id_recipients", "0917 123 4567")
    page.locator("#id_recipients").press("End")
    page.screenshot(path="/tmp/messaging-send.png", full_page=True)

    page.click("#send-button")
    page.wait_for_url("**/messages/*/")
    expect(page.locator(".alert-success")).to_contain_text("1 message queued for sending")
    message = Message.objects.unscoped().get(organization=org_a)
    assert message.body == "Salamat po! See you tomorrow 🎉"
    assert message.encoding == "ucs2"

    page.click("text=Back to the log")
    page.wait_for_url("**/messages/")
    row = page.locator(f'tr[data-message-id="{message.pk}"]')
    expect(row).to_contain_text("+639171234567")
    expect(row).to_contain_text("IPROGSMS")
    # Accepted by the simulator; its delivery receipt may already have arrived.
    expect(row.locator(".status-badge")).to_have_attribute("data-status", re.compile(r"^(sent|delivered)$"))
    # The count and credits arrive after the rows (their own request).
    expect(page.locator("#log-totals")).to_have_text(re.compile(r"^\s*1 message, \d+\.\d\d credits in all\.\s*$"))
    page.screenshot(path="/tmp/messaging-log.png", full_page=True)
