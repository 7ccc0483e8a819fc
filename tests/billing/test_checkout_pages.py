"""Buying credits through the pages: packs with peso prices, Buy (owners and admins), the return and cancel pages,
the billing profile, the webhook endpoint; another organization's checkout answers 404."""

from decimal import Decimal

import pytest

from billing.models import CreditAccount, CreditPack, Payment, PaymentStatus, PricePlan
from billing.selectors import balance_get
from billing.services import credit_account_settings_update, payment_record
from tests.billing.conftest import last_event, pay_on_hosted_page, signed

pytestmark = pytest.mark.django_db


def buy(client, pack):
    return client.post("/billing/buy/", {"pack": pack.id})


def test_overview_lists_active_packs_with_peso_prices_and_a_buy_button(client_owner_a, pack):
    CreditPack.objects.create(name="Hidden", credits=Decimal("50.00"), is_active=False)
    CreditPack.objects.create(name="Business", credits=Decimal("10000.00"), sort_order=2)
    page = client_owner_a.get("/billing/").content.decode()
    assert "Starter" in page and "₱500.00" in page
    assert "Business" in page and "₱5,000.00" in page
    assert "Hidden" not in page
    assert page.count('action="/billing/buy/"') == 2


def test_the_peso_price_follows_the_organizations_plan(client_owner_a, org_a, pack):
    cheaper = PricePlan.objects.create(name="Volume", credit_price_php=Decimal("0.3500"))
    credit_account_settings_update(
        organization=org_a, actor=None, price_plan=cheaper, monthly_segment_limit=None, low_balance_threshold=None
    )
    assert "₱350.00" in client_owner_a.get("/billing/").content.decode()


def test_a_viewer_sees_the_packs_but_cannot_buy(login_as, viewer_a, org_a, pack, paymongo_simulator):
    client = login_as(viewer_a, org_a)
    page = client.get("/billing/").content.decode()
    assert "Starter" in page and 'action="/billing/buy/"' not in page
    assert buy(client, pack).status_code == 403
    assert not Payment.objects.for_organization(org_a).exists()


def test_buy_sends_the_customer_to_the_paymongo_checkout(client_owner_a, org_a, pack, paymongo_simulator):
    response = buy(client_owner_a, pack)
    payment = Payment.objects.for_organization(org_a).get()
    assert response.status_code == 302
    assert response["Location"] == payment.checkout_url
    assert response["Location"].startswith(paymongo_simulator.base_url + "/checkout/cs_")
    assert payment.status == PaymentStatus.PENDING
    session = paymongo_simulator.session(payment.external_id)
    assert session["attributes"]["success_url"] == f"http://testserver/billing/checkout/{payment.id}/"


def test_buy_an_unknown_pack_answers_404(client_owner_a, paymongo_simulator):
    assert client_owner_a.post("/billing/buy/", {"pack": 999999}).status_code == 404


def test_buy_when_paymongo_is_down_says_so_and_charges_nothing(
    client_owner_a, org_a, pack, paymongo_simulator, settings
):
    settings.PAYMONGO_BASE_URL = "http://127.0.0.1:9"
    response = buy(client_owner_a, pack)
    assert response.status_code == 302 and response["Location"] == "/billing/"
    page = client_owner_a.get("/billing/").content.decode()
    assert "Online payment is not available right now" in page
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_the_return_page_confirms_a_paid_checkout_and_links_the_receipt(
    client_owner_a, org_a, pack, paymongo_simulator
):
    buy(client_owner_a, pack)
    payment = Payment.objects.for_organization(org_a).get()
    pay_on_hosted_page(payment.checkout_url, method="gcash")
    page = client_owner_a.get(f"/billing/checkout/{payment.id}/").content.decode()
    assert 'data-status="confirmed"' in page and "1,000" in page
    payment.refresh_from_db()
    assert payment.receipt.number in page
    assert balance_get(organization=org_a) == Decimal("1000.00")
    client_owner_a.get(f"/billing/checkout/{payment.id}/")
    assert balance_get(organization=org_a) == Decimal("1000.00")


def test_the_return_page_of_an_unpaid_checkout_waits(client_owner_a, org_a, pack, paymongo_simulator):
    buy(client_owner_a, pack)
    payment = Payment.objects.for_organization(org_a).get()
    page = client_owner_a.get(f"/billing/checkout/{payment.id}/").content.decode()
    assert 'data-status="pending"' in page and 'http-equiv="refresh"' in page
    cancelled = client_owner_a.get(f"/billing/checkout/{payment.id}/cancelled/").content.decode()
    assert "nothing was charged" in cancelled and payment.checkout_url in cancelled


def test_another_organizations_checkout_answers_404(client_owner_a, client_owner_b, org_a, pack, paymongo_simulator):
    buy(client_owner_a, pack)
    payment = Payment.objects.for_organization(org_a).get()
    pay_on_hosted_page(payment.checkout_url)
    assert client_owner_b.get(f"/billing/checkout/{payment.id}/").status_code == 404
    assert client_owner_b.get(f"/billing/checkout/{payment.id}/cancelled/").status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING  # org B's visit asked nothing and credited nothing
    assert client_owner_a.get(f"/billing/checkout/{payment.id}/").status_code == 200


def test_a_manual_payment_is_not_a_checkout(client_owner_a, org_a):
    payment = payment_record(organization=org_a, actor=None, method="bank_transfer", amount_php=Decimal("10.00"))
    assert client_owner_a.get(f"/billing/checkout/{payment.id}/").status_code == 404


def test_the_webhook_endpoint_credits_once_and_refuses_bad_signatures(
    client, org_a, owner_a, pack, paymongo_simulator, login_as
):
    owner = login_as(owner_a, org_a)
    buy(owner, pack)
    payment = Payment.objects.for_organization(org_a).get()
    pay_on_hosted_page(payment.checkout_url, method="card")
    body = last_event(paymongo_simulator, "checkout_session.payment.paid")

    def post(headers):
        return client.post(
            "/billing/webhooks/paymongo/",
            data=body,
            content_type="application/json",
            headers=headers,
        )

    assert post({}).status_code == 400
    assert post(signed(body, secret="whsk_wrong")).status_code == 400
    assert balance_get(organization=org_a) == Decimal("0.00")
    first = post(signed(body))
    assert first.status_code == 200 and first.json() == {"outcome": "credited (webhook)"}
    again = post(signed(body))
    assert again.status_code == 200 and again.json()["outcome"].startswith("duplicate")
    assert balance_get(organization=org_a) == Decimal("1000.00")


def test_the_webhook_endpoint_of_an_unknown_provider_answers_404(client):
    assert client.post("/billing/webhooks/stripe/", data=b"{}", content_type="application/json").status_code == 404
    assert client.get("/billing/webhooks/paymongo/").status_code == 405


def test_owners_set_the_billing_name_tin_and_address_viewers_cannot(client_owner_a, login_as, viewer_a, org_a):
    details = {"billing_name": "Alpha Retail Corp.", "billing_tin": "123-456-789-000", "billing_address": "Makati"}
    assert login_as(viewer_a, org_a).post("/billing/profile/", details).status_code == 403
    assert client_owner_a.post("/billing/profile/", details).status_code == 302
    account = CreditAccount.objects.for_organization(org_a).get()
    assert (account.billing_name, account.billing_tin, account.billing_address) == (
        "Alpha Retail Corp.",
        "123-456-789-000",
        "Makati",
    )
    client_owner_a.post("/billing/profile/", {**details, "billing_tin": "12"})
    account.refresh_from_db()
    assert account.billing_tin == "123-456-789-000"


def test_the_receipt_page_prints_seller_buyer_tin_and_the_non_vat_notice(
    client_owner_a, client_owner_b, org_a, pack, paymongo_simulator, settings
):
    settings.BILLING_RECEIPT_ISSUER = {**settings.BILLING_RECEIPT_ISSUER, "tin": "111-222-333-00000"}
    client_owner_a.post(
        "/billing/profile/",
        {"billing_name": "Alpha Corp", "billing_tin": "999-888-777-000", "billing_address": "Pasig"},
    )
    buy(client_owner_a, pack)
    payment = Payment.objects.for_organization(org_a).get()
    pay_on_hosted_page(payment.checkout_url)
    client_owner_a.get(f"/billing/checkout/{payment.id}/")
    payment.refresh_from_db()
    page = client_owner_a.get(f"/billing/receipts/{payment.receipt.number}/").content.decode()
    assert "Non-VAT Reg. TIN" in page and "111-222-333-00000" in page
    assert "Alpha Corp" in page and "999-888-777-000" in page and "Pasig" in page
    assert "NOT VALID FOR CLAIM OF INPUT TAX" in page and "GCash" in page
    assert client_owner_b.get(f"/billing/receipts/{payment.receipt.number}/").status_code == 404
