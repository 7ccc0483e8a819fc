"""The staff landing page (admin's index) lists what needs staff, each app adding its panel through
`portal.staff_attention`; an organization's admin page shows its balance, usage and links; staff sign in to it."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import CreditAccount, Payment, PaymentStatus
from billing.services import credits_adjust
from messaging.models import CircuitState, Provider, ProviderMonthlyUsage
from portal.staff_attention import attention_panels, facts_for_organization, staff_attention
from portal.timezone import month_start
from privacy.requests.models import DataSubjectRequest
from tests.conftest import PASSWORD, make_user
from tests.privacy.data_helpers import make_request


@pytest.fixture
def staff(db):
    return make_user("ops@operator.example", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def request_due(email, due_at):
    request = make_request(email=email)
    DataSubjectRequest.objects.filter(pk=request.pk).update(due_at=due_at)
    return request


def items_by_label(panels):
    return {item.label: item for panel in panels for item in panel.items}


def provider(name, **extra):
    return Provider.objects.create(
        name=name,
        adapter="semaphore",
        base_url="http://127.0.0.1:9",
        credentials=json.dumps({"apikey": "k"}),
        sender_name="TEST",
        **extra,
    )


def test_every_app_contributes_its_panel_in_layer_order(db):
    titles = [panel.title for panel in attention_panels()]
    assert titles == ["Billing", "SMS providers", "Privacy requests"]
    assert len(staff_attention.answers()) == 3


def make_payment(organization, status: str) -> Payment:
    return Payment.objects.create(
        organization=organization,
        method="bank_transfer",
        amount_php=Decimal("500"),
        credits=Decimal("500"),
        status=status,
    )


def test_panels_count_what_needs_staff_and_link_to_the_admin_list(org_a, org_b, staff):
    now = timezone.now()
    overdue = request_due("late@example.com", now - timedelta(days=1))
    due_soon = request_due("soon@example.com", now + timedelta(days=3))
    request_due("fine@example.com", now + timedelta(days=25))
    failed = make_payment(org_a, PaymentStatus.FAILED)
    make_payment(org_b, PaymentStatus.CONFIRMED)
    credits_adjust(organization=org_a, actor=None, amount=Decimal("20.00"), reason="test")
    credits_adjust(organization=org_b, actor=None, amount=Decimal("5000.00"), reason="test")
    broken = provider("Broken route", circuit_state=CircuitState.OPEN, consecutive_failures=5)
    busy = provider("Busy route", monthly_quota=100)
    provider("Quiet route", monthly_quota=100)
    ProviderMonthlyUsage.objects.create(provider=busy, month=month_start(), messages=85)

    items = items_by_label(attention_panels())

    assert items["overdue privacy requests"].count == 1
    assert f"pk__in={overdue.pk}" in items["overdue privacy requests"].url
    assert items["privacy requests due within 7 days"].count == 1
    assert f"pk__in={due_soon.pk}" in items["privacy requests due within 7 days"].url
    assert items["failed payments in the last 30 days"].count == 1
    assert items["organizations low on credits"].count == 1
    low_account = CreditAccount.objects.for_organization(org_a).get()
    assert f"pk__in={low_account.pk}" in items["organizations low on credits"].url
    assert items["providers with an open circuit (skipped by dispatch)"].count == 1
    assert f"pk__in={broken.pk}" in items["providers with an open circuit (skipped by dispatch)"].url
    assert items["providers near their monthly quota"].count == 1
    assert "Busy route: 85 of 100" in items["providers near their monthly quota"].detail
    assert failed.pk  # the failed payment is the one counted


def test_admin_index_shows_the_panels_and_their_links_open(staff_client, org_a):
    request_due("late@example.com", timezone.now() - timedelta(days=2))
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="staff-attention"' in html and "Needs you now" in html
    assert "overdue privacy requests" in html and "failed payments in the last 30 days" in html
    for item in items_by_label(response.context["attention_panels"]).values():
        listed = staff_client.get(item.url)
        assert listed.status_code == 200, item.url
        # A filter admin refuses redirects with ?e=1 instead of listing the rows.
        assert "e=1" not in listed.get("Location", ""), item.url
    overdue_list = staff_client.get(
        items_by_label(response.context["attention_panels"])["overdue privacy requests"].url
    )
    assert "late@example.com" in overdue_list.content.decode()


def test_the_failed_payments_link_lists_the_payments_it_counts(staff_client, org_a, org_b):
    def failed_payment(organization, days_ago: float) -> Payment:
        payment = make_payment(organization, PaymentStatus.FAILED)
        Payment.objects.unscoped().filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        return payment

    recent = [failed_payment(org_a, 1), failed_payment(org_b, 29.9)]
    failed_payment(org_a, 30.1)  # outside the window, though on the window's first calendar day
    item = items_by_label(attention_panels())["failed payments in the last 30 days"]
    assert item.count == 2
    listed = staff_client.get(item.url)
    assert listed.status_code == 200 and "e=1" not in listed.get("Location", "")
    assert sorted(p.pk for p in listed.context["cl"].result_list) == sorted(p.pk for p in recent)


def test_customers_do_not_reach_the_staff_landing(client_owner_a):
    response = client_owner_a.get(reverse("admin:index"))
    assert response.status_code == 302


def test_organization_admin_page_shows_balance_usage_and_links(staff_client, org_a, org_b, owner_a):
    credits_adjust(organization=org_a, actor=None, amount=Decimal("120.00"), reason="test")
    credits_adjust(organization=org_b, actor=None, amount=Decimal("999.00"), reason="test")
    facts = {fact.label: fact for fact in facts_for_organization(organization_id=org_a.pk)}
    assert facts["Balance"].value == "120.00 credits"
    assert facts["Usage this month"].value.startswith("0 segments")
    assert facts["Messages this month"].value == "0"
    assert f"organization__id__exact={org_a.pk}" in facts["Payments"].url

    response = staff_client.get(reverse("admin:accounts_organization_change", args=[org_a.pk]))
    html = response.content.decode()
    assert "120.00 credits" in html and "999.00" not in html
    for name in ("admin:messaging_message_changelist", "admin:billing_payment_changelist"):
        assert f"{reverse(name)}?organization__id__exact={org_a.pk}" in html
    members_url = f"{reverse('admin:accounts_membership_changelist')}?organization__id__exact={org_a.pk}"
    assert members_url in html
    members = staff_client.get(members_url).content.decode()
    assert owner_a.email in members


def test_staff_sign_in_lands_on_the_staff_landing_and_customers_on_their_dashboard(client, staff, owner_a):
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    client.logout()
    response = client.post(reverse("account_login"), {"login": owner_a.email, "password": PASSWORD})
    assert response["Location"] == reverse("dashboard")
