"""A user sees the banner of a material policy change, reads and acknowledges it, and switches optional processing
off from the privacy centre; the public policy page shows the retention table. Every button of the public privacy
pages (request form, SMS code, e-mail link, status page, contact form) works in a real browser."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import User
from billing.services import credits_grant_demo
from messaging.models import Message
from messaging.services.providers import provider_seed_demo_chain
from portal.crypto import email_lookup_hash, phone_lookup_hash
from privacy import policy as privacy_policy
from privacy.data.models import ProcessingKind
from privacy.data.objections import user_allows
from privacy.models import PolicyAcknowledgement, PolicyVersion
from privacy.requests import correspondence, intake
from privacy.requests.models import ContactInquiry, DataSubjectRequest, RequestStatus

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


# --- the public pages: every button works in a real browser (CSRF, Referrer-Policy) ---


def _sms_route_and_credits():
    provider_seed_demo_chain(simulator_url="http://127.0.0.1:9")  # a route exists; delivery is not tested here
    credits_grant_demo(organization=intake.privacy_operator_organization(), amount=Decimal("100"))


def _latest_code(phone: str) -> str:
    message = Message._base_manager.filter(recipient_hash=phone_lookup_hash(phone)).latest("id")
    return re.search(r"\b(\d{6})\b", message.delivery_body).group(1)


def test_public_request_by_sms_resend_confirm_and_withdraw(page, transactional_db):
    _sms_route_and_credits()
    page.goto("/privacy/request/")
    page.fill("#id_full_name", "Juan dela Cruz")
    page.fill("#id_email", "juan@example.com")
    page.fill("#id_phone_number", "0917 123 4567")
    page.locator("input[name=kind][value=access]").check()
    page.locator("input[name=verification_method][value=sms]").check()
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/privacy/request/status/**")
    response = page.context.request.get(page.url)
    assert response.headers["referrer-policy"] == "same-origin"

    page.get_by_role("button", name="Send a new code").click()
    expect(page.locator("body")).to_contain_text("We sent a new code.")
    expect(page.locator("body")).not_to_contain_text("CSRF")
    page.fill("#id_code", _latest_code("+639171234567"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("body")).to_contain_text("your request is confirmed")
    dsr = DataSubjectRequest.objects.get(email_hash=email_lookup_hash("juan@example.com"))
    assert dsr.status == RequestStatus.VERIFIED

    page.get_by_role("button", name="Withdraw this request").click()
    expect(page.locator("body")).to_contain_text("Your request was withdrawn.")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.WITHDRAWN


def test_public_request_confirmed_by_the_e_mail_link(page, transactional_db):
    page.goto("/privacy/request/?kind=delete")
    page.fill("#id_full_name", "Maria Clara")
    page.fill("#id_email", "maria@example.com")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url("**/privacy/request/status/**")
    dsr = DataSubjectRequest.objects.get(email_hash=email_lookup_hash("maria@example.com"))
    assert dsr.kind == "delete" and dsr.status == RequestStatus.SUBMITTED

    page.goto(correspondence.email_verify_url(dsr))
    response = page.context.request.get(page.url)
    assert response.headers["referrer-policy"] == "same-origin"
    page.get_by_role("button", name="Confirm my request").click()
    expect(page.locator(".alert-success")).to_contain_text(f"request {dsr.reference} is confirmed")
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.VERIFIED


def test_contact_form_is_sent(page, transactional_db):
    page.goto("/privacy/contact/")
    page.fill("#id_full_name", "Jose Rizal")
    page.fill("#id_email", "jose@example.com")
    page.fill("#id_subject", "Where is my data kept?")
    page.fill("#id_message", "Please tell me which country stores my messages.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("body")).not_to_contain_text("CSRF")
    assert ContactInquiry.objects.filter(email_hash=email_lookup_hash("jose@example.com")).exists()
