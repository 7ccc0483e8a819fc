"""Staff sign in through allauth (rate limits, second factor), admin included; staff pages need a second factor."""

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.cache import cache

from tests.conftest import PASSWORD, make_user

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Rate-limit counts and used TOTP codes live in the (process-wide) cache: every test starts with none."""
    settings.STAFF_MFA_REQUIRED = True
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db):
    return make_user("ops@operator.example", is_staff=True, is_superuser=True)


def totp_for(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def reaches_admin(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_admin_login_page_is_the_site_sign_in_form_and_keeps_next(client, db):
    response = client.get("/admin/login/?next=/admin/billing/payment/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fbilling%2Fpayment%2F"
    # Admin's own redirect for a signed-out visitor lands on the same form.
    assert client.get("/admin/", follow=True).redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"


def test_guessing_passwords_through_admin_login_is_stopped_by_the_rate_limit(client, staff):
    # Django's admin login took any number of guesses; posting to it now signs nobody in.
    for _ in range(25):
        client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": WRONG})
    client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert not reaches_admin(client)

    # The form /admin/login/ leads to counts failures: after 25 wrong guesses the right password is refused too.
    login_url = client.get("/admin/login/?next=/admin/")["Location"]
    for _ in range(25):
        client.post(login_url, {"login": staff.email, "password": WRONG})
    refused = client.post(login_url, {"login": staff.email, "password": PASSWORD})
    assert refused.status_code == 200
    assert "Too many failed login attempts" in refused.content.decode()
    assert not reaches_admin(client)


def test_password_alone_never_reaches_admin_for_staff_with_an_authenticator(client, staff):
    secret = totp_for(staff)
    client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert not reaches_admin(client)

    login_url = client.get("/admin/login/?next=/admin/")["Location"]
    step = client.post(login_url, {"login": staff.email, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == "/accounts/2fa/authenticate/"
    assert not reaches_admin(client)
    assert client.get("/privacy/staff/board/").status_code == 302

    done = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert reaches_admin(client)
    assert client.get("/privacy/staff/board/").status_code == 200


def test_staff_without_an_authenticator_is_sent_to_set_one_up(client, staff):
    client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    for url in ("/admin/", "/admin/billing/payment/", "/privacy/staff/board/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/", url
    page = client.get("/admin/", follow=True).content.decode()
    assert "Staff accounts need two-factor authentication" in page
    # The rest of the site is open to them as to anyone.
    assert client.get("/account/sign-ins/").status_code == 200


def test_staff_session_signed_in_without_the_second_factor_is_refused_until_a_code_is_entered(client, staff):
    secret = totp_for(staff)
    client.force_login(staff)  # e.g. a session that began before the authenticator was added
    response = client.get("/admin/billing/payment/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2Fbilling%2Fpayment%2F"
    assert client.get("/privacy/staff/board/").status_code == 302

    confirmed = client.post(response["Location"], {"code": current_code(secret)})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/admin/billing/payment/"
    assert client.get("/admin/billing/payment/").status_code == 200


def test_a_signed_in_customer_opening_admin_login_is_refused_not_looped(client, owner_a):
    client.force_login(owner_a)
    assert client.get("/admin/login/?next=/admin/").status_code == 403
    assert not reaches_admin(client)
    assert Authenticator.objects.count() == 0


def test_admin_logout_and_password_change_use_the_site_pages(client, staff):
    client.force_login(staff)
    assert client.post("/admin/logout/")["Location"] == "/accounts/logout/"
    assert client.get("/admin/password_change/")["Location"] == "/accounts/password/change/"


def test_customers_are_not_held_to_the_second_factor(client, owner_a):
    client.post("/accounts/login/", {"login": owner_a.email, "password": PASSWORD})
    assert client.get("/dashboard/").status_code == 200


def test_failed_logins_behind_a_proxy_are_counted_per_client_not_per_proxy(client, settings, owner_a, owner_b):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    customer = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for n in range(12):  # different addresses each time: only the per-client-address limit (10 a minute) applies
        client.post("/accounts/login/", {"login": f"nobody{n}@example.com", "password": WRONG}, **attacker)
    locked = client.post("/accounts/login/", {"login": owner_b.email, "password": PASSWORD}, **attacker)
    assert "Too many failed login attempts" in locked.content.decode()

    other = client.post("/accounts/login/", {"login": owner_a.email, "password": PASSWORD}, **customer)
    assert other.status_code == 302, "a customer behind the same proxy was locked out by someone else's guesses"
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_sign_in_pages_use_the_site_layout_with_a_label_on_every_field(client, db, url):
    page = client.get(url).content.decode()
    assert 'class="navbar' in page and "allauth-page" in page
    inputs = re.findall(r"<input\b[^>]*>", page)
    visible = [tag for tag in inputs if 'type="hidden"' not in tag]
    assert visible
    for tag in visible:
        field_id = re.search(r'id="([^"]+)"', tag).group(1)
        assert re.search(rf'<label class="form-(check-)?label" for="{field_id}">', page), tag
        assert 'class="form-control' in tag or 'class="form-check-input' in tag, tag
