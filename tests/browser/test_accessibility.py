"""Every page a person uses passes axe-core with no serious or critical violation, on a desktop and on a 390 px
phone, where no table reaches past the screen; the skip link, the focus ring on the dark navigation and the current
page in the menu; Chart.js is loaded only where a chart is drawn."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.services import credits_adjust
from messaging.services.sending import message_send
from privacy.policy import privacy_seed_policy
from tests.browser.axe import assert_accessible, assert_no_table_overflow
from tests.conftest import PASSWORD, make_user
from tests.messaging.conftest import offline_chain  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

PUBLIC_PAGES = [
    "/",
    "/privacy/policy/",
    "/privacy/contact/",
    "/privacy/request/",
    "/accounts/login/",
    "/accounts/signup/",
]
CUSTOMER_PAGES = [
    "/dashboard/",
    "/messages/",
    "/messages/send/",
    "/billing/",
    "/organization/api-keys/",
    "/organization/members/",
    "/organization/settings/",
    "/privacy/",
    "/accounts/email/",
    "/accounts/2fa/",
    "/accounts/password/change/",
    "/account/sign-ins/",
]
STAFF_PAGES = ["/privacy/staff/board/", "/admin/"]


@pytest.fixture(autouse=True)
def published_policy(transactional_db):
    # The footer links to it on every page; transactional tests start from empty tables.
    return privacy_seed_policy()


def sign_in(page, email: str, landing: str = "**/dashboard/", next_path: str = ""):
    page.goto("/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(landing)


@pytest.fixture
def customer_with_history(org_a, owner_a, offline_chain, transactional_db):  # noqa: F811
    credits_adjust(organization=org_a, actor=None, amount=Decimal("50.00"), reason="opening balance")
    message_send(
        organization=org_a,
        actor=owner_a,
        recipients=["09171234567", "09181234567"],
        body="Your order has shipped",
        channel="dashboard",
    )
    return owner_a


def visit_each(page, paths, viewport):
    page.set_viewport_size(viewport)
    for path in paths:
        response = page.goto(path)
        assert response.status < 400, f"{path} answered {response.status}"
        assert_accessible(page)
        if viewport is PHONE:
            assert_no_table_overflow(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_public_pages(page, viewport, transactional_db):
    visit_each(page, PUBLIC_PAGES, viewport)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_customer_pages(page, customer_with_history, viewport):
    sign_in(page, customer_with_history.email)
    visit_each(page, CUSTOMER_PAGES, viewport)
    page.screenshot(path=f"/tmp/a11y-privacy-{viewport['width']}.png", full_page=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_staff_pages(page, viewport, transactional_db):
    staff = make_user("ops@operator.example", is_staff=True, is_superuser=True)
    sign_in(page, staff.email, landing="**/admin/", next_path="/admin/")
    visit_each(page, STAFF_PAGES, viewport)


def test_skip_link_focus_ring_and_current_page(page, customer_with_history):
    sign_in(page, customer_with_history.email)
    page.goto("/messages/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"

    current = page.locator("nav [aria-current=page]")
    expect(current).to_have_count(1)
    expect(current).to_have_text("Messages")

    page.goto("/dashboard/")
    messages_link = page.locator("#mainnav").get_by_role("link", name="Messages")
    messages_link.focus()
    outline = messages_link.evaluate(
        "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth"
    )
    assert not outline.startswith("none") and not outline.endswith(" 0px"), outline
    page.screenshot(path="/tmp/a11y-focus-ring.png")


def test_chart_js_loads_only_with_a_chart(page, customer_with_history):
    loaded = []
    page.on("request", lambda request: loaded.append(request.url))
    page.goto("/accounts/login/")
    assert not [url for url in loaded if "chart" in url]
    sign_in(page, customer_with_history.email)
    page.wait_for_load_state("load")
    assert [url for url in loaded if "chart.umd" in url], "the dashboard draws a chart"
    loaded.clear()
    page.goto("/messages/")
    assert not [url for url in loaded if "chart" in url]
