"""Staff in a real browser: admin's sign-in is the site's form, then an authenticator code; a staff account without an
authenticator sets one up on the way to admin. The sign-in pages use the site's layout with labelled fields."""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def staff_need_a_second_factor(settings):
    settings.STAFF_MFA_REQUIRED = True
    cache.clear()  # failed-sign-in counts and used codes from other tests


_codes_given: set[str] = set()


def current_code(secret: str) -> str:
    """A code with at least 8 seconds left in its 30-second window (a slow page must not carry it past the window),
    never one already given (allauth refuses a code used twice)."""
    while True:
        now = time.time()
        left = 30 - now % 30
        code = format_hotp_value(hotp_value(secret, int(now) // 30))
        if left >= 8 and code not in _codes_given:
            _codes_given.add(code)
            return code
        time.sleep(left + 0.2)


def sign_in_form(page, email: str):
    expect(page.locator("nav.navbar")).to_be_visible()  # the site's layout, not allauth's bare page
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_staff_sign_in_to_admin_with_an_authenticator_code(page, transactional_db):
    staff = make_user("ops@operator.example", is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)

    page.goto("/admin/")
    page.wait_for_url("**/accounts/login/?next=%2Fadmin%2F")
    # The e-mail field is as wide as the form, not a 20-character box.
    assert page.get_by_label("Email").bounding_box()["width"] > 300
    page.screenshot(path="/tmp/staff-sign-in.png", full_page=True)
    sign_in_form(page, staff.email)

    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.get_by_label("Code").fill(current_code(secret))
    page.screenshot(path="/tmp/staff-sign-in-code.png", full_page=True)
    page.get_by_role("button", name="Sign In").click()

    page.wait_for_url("**/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page.screenshot(path="/tmp/staff-admin.png", full_page=True)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/logout/")
    page.get_by_role("button", name="Sign Out").click()
    page.goto("/admin/")
    page.wait_for_url("**/accounts/login/?next=%2Fadmin%2F")


def test_staff_without_an_authenticator_sets_one_up_on_the_way_to_admin(page, transactional_db):
    staff = make_user("new-ops@operator.example", is_staff=True)
    page.goto("/privacy/staff/board/")
    page.wait_for_url("**/accounts/login/**")
    sign_in_form(page, staff.email)

    # Setting up an authenticator asks for the password again (allauth), then shows the secret.
    page.wait_for_url("**/accounts/reauthenticate/**")
    expect(page.get_by_text("Staff accounts need two-factor authentication")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url("**/accounts/2fa/totp/activate/")
    secret = page.locator("#authenticator_secret").input_value()
    page.screenshot(path="/tmp/staff-mfa-activate.png", full_page=True)
    page.get_by_label("Authenticator code").fill(current_code(secret))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url("**/accounts/2fa/recovery-codes/**")

    # This session was signed in with the password only: the staff page asks for a code first.
    page.goto("/privacy/staff/board/")
    page.wait_for_url("**/accounts/2fa/reauthenticate/?next=%2Fprivacy%2Fstaff%2Fboard%2F")
    page.get_by_label("Code").fill(current_code(secret))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/privacy/staff/board/")
    page.screenshot(path="/tmp/staff-board.png", full_page=True)
