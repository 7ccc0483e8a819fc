import re

from django.core import mail

from accounts.models import LoginRecord, Membership, User
from accounts.roles import Role
from accounts.services import client_ip
from tests.conftest import PASSWORD

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def test_signup_creates_own_organization_and_requires_email_verification(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "maria@shop.example",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "full_name": "Maria Santos",
            "organization_name": "Santos Sari-Sari",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="maria@shop.example")
    membership = Membership.objects.unscoped().get(user=user)
    assert membership.role == Role.OWNER and membership.organization.name == "Santos Sari-Sari"
    assert user.full_name == "Maria Santos"
    # Mandatory verification: not signed in until the e-mailed link is followed.
    assert client.get("/dashboard/").status_code == 302
    link = re.search(r"(/accounts/confirm-email/[^\s]+)", mail.outbox[0].body).group(1)
    assert client.post(link).status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_login_success_and_failure_are_recorded_with_device(client, owner_a):
    client.post("/accounts/login/", {"login": owner_a.email, "password": "wrong"}, HTTP_USER_AGENT=CHROME_ANDROID)
    client.post("/accounts/login/", {"login": owner_a.email, "password": PASSWORD}, HTTP_USER_AGENT=CHROME_ANDROID)
    failed, succeeded = LoginRecord.objects.order_by("created_at", "id")
    assert (failed.succeeded, succeeded.succeeded) == (False, True)
    assert failed.user == owner_a and failed.email_attempted == owner_a.email
    assert succeeded.ip_address == "127.0.0.1"
    assert succeeded.browser.startswith("Chrome Mobile")
    assert succeeded.operating_system.startswith("Android")
    assert succeeded.device.startswith("Mobile")
    page = client.get("/account/sign-ins/").content.decode()
    assert "failed" in page and "Chrome Mobile" in page


def test_login_records_are_private_to_the_user(login_as, owner_a, org_a, owner_b, client):
    client.post("/accounts/login/", {"login": owner_b.email, "password": "nope"})
    assert LoginRecord.objects.filter(user=owner_b, succeeded=False).count() == 1
    page = login_as(owner_a, org_a).get("/account/sign-ins/").content.decode()
    assert ">failed<" not in page  # owner_b's failed attempt is not shown to owner_a


def test_the_client_address_ignores_what_the_client_put_in_x_forwarded_for(rf, settings):
    spoofed = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    settings.TRUSTED_PROXY_COUNT = 0  # no proxy: the peer is the client
    assert client_ip(spoofed) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1  # one proxy appended the address it saw; "6.6.6.6" came from the client
    assert client_ip(spoofed) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(spoofed) == "6.6.6.6"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"  # header missing: the peer
