"""Buying a credit pack through the PayMongo simulator: credited exactly once, whatever arrives first or twice;
a declined, abandoned or expired checkout credits nothing; manual payments and receipts keep working."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.services import organization_create
from billing.checkout import (
    checkout_return_confirm,
    checkout_start,
    checkout_webhook_receive,
    checkouts_reconcile,
    credit_packs_seed_demo,
)
from billing.models import (
    CreditAccount,
    CreditPack,
    LedgerEntry,
    LedgerEntryKind,
    Payment,
    PaymentMethod,
    PaymentProviderEvent,
    PaymentStatus,
    Receipt,
)
from billing.payment_providers.base import WebhookVerificationError
from billing.receipts import billing_profile_update
from billing.selectors import balance_get
from billing.services import credits_adjust, payment_record
from portal.errors import ApplicationError, NotFound, PermissionDenied
from tests.billing.conftest import last_event, pay_on_hosted_page, signed
from tests.billing.helpers import assert_ledger_invariant
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SITE = "http://testserver"


def membership(user, organization):
    return user.memberships.get(organization=organization)


def start(org, owner, pack):
    return checkout_start(organization=org, actor_membership=membership(owner, org), pack_id=pack.id, site_url=SITE)


def deliver(body: bytes) -> str:
    return checkout_webhook_receive(provider_code="paymongo", headers=signed(body), body=body)


def test_checkout_start_makes_a_pending_payment_with_an_open_paymongo_session(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    assert payment.status == PaymentStatus.PENDING
    assert payment.method == PaymentMethod.ONLINE
    assert (payment.amount_php, payment.credits) == (Decimal("500.00"), Decimal("1000.00"))
    assert payment.external_id.startswith("cs_")
    assert payment.checkout_url == f"{paymongo_simulator.base_url}/checkout/{payment.external_id}"
    session = paymongo_simulator.session(payment.external_id)["attributes"]
    assert session["line_items"][0]["amount"] == 50000 and session["line_items"][0]["currency"] == "PHP"
    assert session["payment_method_types"] == ["gcash", "paymaya", "card", "qrph"]
    assert session["reference_number"] == f"SMS-{payment.id}"
    assert session["metadata"] == {"payment_id": str(payment.id), "organization": "alpha"}
    assert session["success_url"] == f"{SITE}/billing/checkout/{payment.id}/"
    assert session["cancel_url"] == f"{SITE}/billing/checkout/{payment.id}/cancelled/"
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_a_viewer_cannot_start_a_checkout(paymongo_simulator, org_a, viewer_a, pack):
    with pytest.raises(PermissionDenied):
        start(org_a, viewer_a, pack)
    assert not Payment.objects.for_organization(org_a).exists()


def test_an_inactive_pack_cannot_be_bought(paymongo_simulator, org_a, owner_a, pack):
    pack.is_active = False
    pack.save()
    with pytest.raises(NotFound):
        start(org_a, owner_a, pack)


def test_paid_webhook_delivered_twice_credits_once(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    response = pay_on_hosted_page(payment.checkout_url, method="paymaya")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/billing/checkout/{payment.id}/")
    body = last_event(paymongo_simulator, "checkout_session.payment.paid")

    assert deliver(body) == "credited (webhook)"
    assert deliver(body) == "duplicate event: nothing to do"

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED
    assert payment.method == PaymentMethod.MAYA
    assert payment.reference.startswith("pay_")
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert LedgerEntry.objects.for_organization(org_a).filter(kind=LedgerEntryKind.TOPUP).count() == 1
    assert Receipt.objects.for_organization(org_a).count() == 1
    assert PaymentProviderEvent.objects.filter(payment=payment).count() == 1
    assert_ledger_invariant(org_a)


def test_webhook_before_the_customer_returns_then_the_return_page_adds_nothing(
    paymongo_simulator, org_a, owner_a, pack
):
    payment = start(org_a, owner_a, pack)
    pay_on_hosted_page(payment.checkout_url, method="gcash")
    deliver(last_event(paymongo_simulator, "checkout_session.payment.paid"))
    returned = checkout_return_confirm(organization=org_a, payment_id=payment.id)
    assert returned.status == PaymentStatus.CONFIRMED
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert_ledger_invariant(org_a)


def test_return_before_the_webhook_confirms_by_asking_paymongo_and_the_late_webhook_adds_nothing(
    paymongo_simulator, org_a, owner_a, pack
):
    payment = start(org_a, owner_a, pack)
    pay_on_hosted_page(payment.checkout_url, method="card")
    returned = checkout_return_confirm(organization=org_a, payment_id=payment.id)
    assert returned.status == PaymentStatus.CONFIRMED and returned.method == PaymentMethod.CARD
    assert deliver(last_event(paymongo_simulator, "checkout_session.payment.paid")) == "already credited"
    assert checkout_return_confirm(organization=org_a, payment_id=payment.id).status == PaymentStatus.CONFIRMED
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert LedgerEntry.objects.for_organization(org_a).filter(kind=LedgerEntryKind.TOPUP).count() == 1
    assert_ledger_invariant(org_a)


def test_the_return_page_before_paying_changes_nothing(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    assert checkout_return_confirm(organization=org_a, payment_id=payment.id).status == PaymentStatus.PENDING
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_another_organizations_checkout_is_not_found(paymongo_simulator, org_a, owner_a, org_b, pack):
    payment = start(org_a, owner_a, pack)
    with pytest.raises(NotFound):
        checkout_return_confirm(organization=org_b, payment_id=payment.id)


def test_a_declined_payment_credits_nothing_and_a_later_paid_attempt_is_credited(
    paymongo_simulator, org_a, owner_a, pack
):
    payment = start(org_a, owner_a, pack)
    assert pay_on_hosted_page(payment.checkout_url, action="decline").status_code == 200
    assert deliver(last_event(paymongo_simulator, "payment.failed")) == "marked failed"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED and "declined" in payment.failure_reason
    assert balance_get(organization=org_a) == Decimal("0.00")

    # The customer tries again in the same checkout with GCash: PayMongo holds the money, so it is credited.
    pay_on_hosted_page(payment.checkout_url, method="gcash")
    assert deliver(last_event(paymongo_simulator, "checkout_session.payment.paid")) == "credited (webhook)"
    assert balance_get(organization=org_a) == Decimal("1000.00")
    assert_ledger_invariant(org_a)


def test_an_expired_checkout_credits_nothing(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    assert paymongo_simulator.session_expire(payment.external_id)
    assert checkouts_reconcile(older_than=timedelta(0)) == {"expired": 1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED and "expired" in payment.failure_reason
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_an_abandoned_checkout_is_failed_after_the_expiry_time(paymongo_simulator, settings, org_a, owner_a, pack):
    settings.BILLING_CHECKOUT_EXPIRY_MINUTES = 0
    payment = start(org_a, owner_a, pack)
    assert checkouts_reconcile(older_than=timedelta(0)) == {"abandoned": 1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_reconcile_credits_a_paid_checkout_whose_webhook_never_came(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    pay_on_hosted_page(payment.checkout_url, method="qrph")
    assert checkouts_reconcile(older_than=timedelta(0)) == {"credited (reconcile)": 1}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.method == PaymentMethod.QRPH
    assert checkouts_reconcile(older_than=timedelta(0)) == {}
    assert balance_get(organization=org_a) == Decimal("1000.00")


def test_a_paid_event_for_another_amount_credits_nothing(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    pay_on_hosted_page(payment.checkout_url)
    event = json.loads(last_event(paymongo_simulator, "checkout_session.payment.paid"))
    event["data"]["attributes"]["data"]["attributes"]["payments"][0]["attributes"]["amount"] = 100
    assert deliver(json.dumps(event).encode()).startswith("amount does not match")
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_a_forged_webhook_changes_nothing(paymongo_simulator, org_a, owner_a, pack):
    payment = start(org_a, owner_a, pack)
    pay_on_hosted_page(payment.checkout_url)
    body = last_event(paymongo_simulator, "checkout_session.payment.paid")
    with pytest.raises(WebhookVerificationError):
        checkout_webhook_receive(provider_code="paymongo", headers=signed(body, secret="whsk_guess"), body=body)
    assert not PaymentProviderEvent.objects.exists()
    assert balance_get(organization=org_a) == Decimal("0.00")


def test_paymongo_down_fails_the_payment_and_says_so(paymongo_simulator, settings, org_a, owner_a, pack):
    settings.PAYMONGO_BASE_URL = "http://127.0.0.1:9"
    with pytest.raises(ApplicationError, match="not available"):
        start(org_a, owner_a, pack)
    payment = Payment.objects.for_organization(org_a).get()
    assert payment.status == PaymentStatus.FAILED and "could not be opened" in payment.failure_reason


def test_paymongo_refuses_a_wrong_secret_key(paymongo_simulator, settings, org_a, owner_a, pack):
    settings.PAYMONGO_SECRET_KEY = "sk_test_wrong"
    with pytest.raises(ApplicationError):
        start(org_a, owner_a, pack)


def test_manual_bank_payments_recorded_by_staff_still_credit(org_a):
    payment = payment_record(
        organization=org_a, actor=None, method=PaymentMethod.BANK_TRANSFER, amount_php=Decimal("100.00")
    )
    assert payment.status == PaymentStatus.CONFIRMED
    assert balance_get(organization=org_a) == Decimal("200.00")  # ₱0.50 per credit (the default plan)


def test_a_new_organization_has_a_credit_account_staff_can_adjust_before_any_payment(db):
    owner = make_user("founder@new.example")
    organization = organization_create(name="New Shop", owner=owner)
    account = CreditAccount.objects.for_organization(organization).get()
    assert account.balance == Decimal("0.00")
    credits_adjust(organization=organization, actor=None, amount=Decimal("25.00"), reason="Welcome credits")
    assert balance_get(organization=organization) == Decimal("25.00")


# --- Receipts: what a Philippine official receipt needs ---


def _paid_checkout(simulator, org, owner, pack):
    payment = start(org, owner, pack)
    pay_on_hosted_page(payment.checkout_url)
    deliver(last_event(simulator, "checkout_session.payment.paid"))
    return Payment.objects.for_organization(org).select_related("receipt").get(id=payment.id)


def test_receipt_of_a_non_vat_seller_names_both_parties(paymongo_simulator, settings, org_a, owner_a, pack):
    settings.BILLING_RECEIPT_ISSUER = {
        **settings.BILLING_RECEIPT_ISSUER,
        "name": "SMS Portal Inc.",
        "address": "1 Ayala Ave, Makati City",
        "tin": "123-456-789-00000",
        "vat_registered": False,
    }
    billing_profile_update(
        organization=org_a,
        actor_membership=membership(owner_a, org_a),
        billing_name="Alpha Retail Corp.",
        billing_tin="987-654-321-000",
        billing_address="Cebu City",
    )
    receipt = _paid_checkout(paymongo_simulator, org_a, owner_a, pack).receipt
    assert (receipt.seller_name, receipt.seller_tin, receipt.seller_vat_registered) == (
        "SMS Portal Inc.",
        "123-456-789-00000",
        False,
    )
    assert (receipt.billed_to, receipt.buyer_tin, receipt.buyer_address) == (
        "Alpha Retail Corp.",
        "987-654-321-000",
        "Cebu City",
    )
    assert receipt.vat_php is None and receipt.amount_php == Decimal("500.00")
    assert "Starter" in receipt.description and receipt.method == PaymentMethod.GCASH


def test_receipt_of_a_vat_registered_seller_breaks_out_the_vat(paymongo_simulator, settings, org_a, owner_a, pack):
    settings.BILLING_RECEIPT_ISSUER = {**settings.BILLING_RECEIPT_ISSUER, "vat_registered": True, "vat_rate": "12.00"}
    receipt = _paid_checkout(paymongo_simulator, org_a, owner_a, pack).receipt
    assert receipt.seller_vat_registered
    assert (receipt.vatable_sales_php, receipt.vat_php) == (Decimal("446.43"), Decimal("53.57"))
    assert receipt.vatable_sales_php + receipt.vat_php == receipt.amount_php
    assert receipt.billed_to == "Alpha Retail"  # no billing name given: the organization's name


def test_receipt_numbers_run_without_gaps_across_organizations_and_methods(
    paymongo_simulator, org_a, owner_a, org_b, owner_b, pack
):
    _paid_checkout(paymongo_simulator, org_a, owner_a, pack)
    payment_record(organization=org_b, actor=None, method=PaymentMethod.BANK_TRANSFER, amount_php=Decimal("50.00"))
    _paid_checkout(paymongo_simulator, org_b, owner_b, pack)
    sequences = sorted(Receipt.objects.unscoped().values_list("sequence", flat=True))
    assert sequences == list(range(sequences[0], sequences[0] + 3))


def test_a_tin_must_look_like_a_tin(org_a, owner_a):
    with pytest.raises(ApplicationError, match="TIN"):
        billing_profile_update(
            organization=org_a,
            actor_membership=membership(owner_a, org_a),
            billing_name="",
            billing_tin="12345",
            billing_address="",
        )


def test_demo_packs_are_created_once_and_never_beside_staffs_own(db):
    assert credit_packs_seed_demo() == 3
    assert credit_packs_seed_demo() == 0
    CreditPack.objects.all().delete()
    CreditPack.objects.create(name="Staff's", credits=Decimal("10.00"))
    assert credit_packs_seed_demo() == 0
    assert list(CreditPack.objects.values_list("name", flat=True)) == ["Staff's"]
