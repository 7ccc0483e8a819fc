"""An owner buys a credit pack: Buy on the billing page, the PayMongo simulator's hosted checkout (Maya), back on
the site with the credits added once (the signed webhook came before the customer returned), and a receipt."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import LedgerEntry, LedgerEntryKind, Payment, PaymentStatus
from billing.selectors import balance_get
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    _paymongo_simulator_server,
    pack,
    paymongo_simulator,
    standard_plan,
)

pytestmark = pytest.mark.browser


def test_owner_buys_a_pack_through_the_hosted_checkout_and_sees_the_balance_rise(
    signed_in_page,
    live_server,
    owner_a,
    org_a,
    pack,  # noqa: F811
    paymongo_simulator,  # noqa: F811
    transactional_db,
    tmp_path,
):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    paymongo_simulator.configure(
        webhook_url=f"{live_server.url}/billing/webhooks/paymongo/", webhook_mode="before_return"
    )
    page = signed_in_page(owner_a)
    page.goto("/billing/")
    expect(page.locator("#balance")).to_contain_text("0.00")
    offer = page.locator(f".credit-pack[data-pack='{pack.id}']")
    expect(offer).to_contain_text("₱500.00")
    page.screenshot(path=str(artifacts / "billing-packs.png"), full_page=True)

    offer.get_by_role("button", name="Buy").click()
    page.wait_for_url(f"{paymongo_simulator.base_url}/checkout/**")
    expect(page.locator("#total")).to_have_text("₱500.00")
    page.get_by_label("Maya").check()
    page.screenshot(path=str(artifacts / "billing-hosted-checkout.png"), full_page=True)
    page.click("#pay")

    page.wait_for_url("**/billing/checkout/*/")
    expect(page.locator("#checkout-result")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("#checkout-result")).to_contain_text("1,000")
    page.screenshot(path=str(artifacts / "billing-paid.png"), full_page=True)

    page.get_by_role("link", name="Back to billing").click()
    expect(page.locator("#balance")).to_contain_text("1000.00")
    expect(page.locator("#payments-list")).to_contain_text("Maya")
    page.screenshot(path=str(artifacts / "billing-balance.png"), full_page=True)

    payment = Payment.objects.for_organization(org_a).get()
    assert payment.status == PaymentStatus.CONFIRMED and payment.method == "paymaya"
    assert [d["status"] for d in paymongo_simulator.deliveries] == [200]  # the webhook, before the return
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert LedgerEntry.objects.for_organization(org_a).filter(kind=LedgerEntryKind.TOPUP).count() == 1
    assert (artifacts / "billing-balance.png").stat().st_size > 0
