import re

import pytest
import requests
from django.core import mail

pytestmark = pytest.mark.browser

PASSWORD = "a-long-and-unusual-password-42"


def test_new_user_signs_up_verifies_creates_key_and_calls_the_api(page, live_server, transactional_db):
    page.goto("/")
    page.click("text=Create an account")
    page.fill("input[name=email]", "juan@bakery.example")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.fill("input[name=organization_name]", "Juan's Bakery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "verify" in page.content().lower() or "confirm" in page.content().lower()

    link = re.search(r"http://[^\s]+/accounts/confirm-email/[^\s]+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text() == "Juan's Bakery"

    page.click("text=API keys")
    page.fill("#key-name", "laptop")
    page.click("#create-key")
    raw_key = page.locator("#new-key").inner_text().strip()
    assert raw_key.startswith("sk_live_")
    page.screenshot(path="/tmp/browser-api-key.png")

    response = requests.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {raw_key}"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["organization"]["name"] == "Juan's Bakery"
    assert response.json()["key"]["name"] == "laptop"

    page.reload()
    assert raw_key not in page.content()  # shown once only


def test_viewer_sees_no_create_key_form(signed_in_page, viewer_a, owner_b, transactional_db):
    page = signed_in_page(viewer_a)
    page.goto("/organization/api-keys/")
    assert page.locator("#create-key").count() == 0
    assert "Developers, admins and owners can create keys" in page.content()
