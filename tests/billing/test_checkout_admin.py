"""Staff and online checkouts: packs set in admin, the events kept, "confirm" never credits an online checkout by
hand, "ask the provider" applies what PayMongo says; the simulator command stays on loopback."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.checkout import checkout_start
from billing.checks import payment_provider_check
from billing.models import CreditPack, Payment, PaymentStatus
from billing.selectors import balance_get
from tests.billing.conftest import pay_on_hosted_page
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    client.force_login(make_user("staff@sms-portal.example", is_staff=True, is_superuser=True))
    return client


def _checkout(org, owner, pack):
    return checkout_start(
        organization=org,
        actor_membership=owner.memberships.get(organization=org),
        pack_id=pack.id,
        site_url="http://testserver",
    )


def test_staff_add_a_pack_and_see_its_price_at_the_default_plan(staff_client, standard_plan):
    response = staff_client.post(
        "/admin/billing/creditpack/add/",
        {"name": "Mega", "credits": "3000.00", "is_active": "on", "sort_order": "5"},
    )
    assert response.status_code == 302
    pack = CreditPack.objects.get(name="Mega")
    page = staff_client.get("/admin/billing/creditpack/").content.decode()
    assert "₱1,500.00 at ₱0.5000/credit" in page
    assert staff_client.get(f"/admin/billing/creditpack/{pack.id}/change/").status_code == 200


def test_confirm_action_skips_online_checkouts_and_ask_the_provider_credits_a_paid_one(
    staff_client, paymongo_simulator, org_a, owner_a, pack
):
    payment = _checkout(org_a, owner_a, pack)
    staff_client.post(
        "/admin/billing/payment/", {"action": "confirm_selected", "_selected_action": [payment.id]}, follow=True
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and balance_get(organization=org_a) == Decimal("0.00")

    pay_on_hosted_page(payment.checkout_url, method="card")
    page = staff_client.post(
        "/admin/billing/payment/", {"action": "check_with_provider", "_selected_action": [payment.id]}, follow=True
    ).content.decode()
    assert "credited (staff check)" in page
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and balance_get(organization=org_a) == Decimal("1000.00")
    events = staff_client.get("/admin/billing/paymentproviderevent/")
    assert events.status_code == 200
    detail = staff_client.get(f"/admin/billing/payment/{payment.id}/change/").content.decode()
    assert payment.external_id in detail


def test_staff_cannot_record_an_online_checkout_by_hand(staff_client, org_a):
    response = staff_client.post(
        "/admin/billing/payment/add/",
        {"organization": org_a.id, "method": "online", "amount_php": "100.00", "confirm_now": "on"},
    )
    assert response.status_code == 200  # the form is shown again with the error
    assert not Payment.objects.unscoped().exists()


def test_the_payment_simulator_command_binds_loopback_only():
    with pytest.raises(CommandError, match="loopback"):
        call_command("run_payment_simulator", "--host", "0.0.0.0")


def test_deploy_checks_warn_about_the_simulators_url_and_secrets(settings):
    settings.PAYMONGO_BASE_URL = "http://127.0.0.1:8026"
    settings.PAYMONGO_SECRET_KEY = "sk_test_simulator"
    assert {m.id for m in payment_provider_check()} == {"billing.W001", "billing.W002"}
    settings.PAYMONGO_BASE_URL = "https://api.paymongo.com"
    settings.PAYMONGO_SECRET_KEY = "sk_live_real"
    settings.PAYMONGO_WEBHOOK_SECRET = "whsk_real"
    assert payment_provider_check() == []
