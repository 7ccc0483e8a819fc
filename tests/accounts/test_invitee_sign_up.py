"""An invitee opens the link, reads which organization invited them and as what, signs up with the invited address
already confirmed (no verification e-mail) and lands in that organization, without an empty one of their own."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Invitation, InvitationStatus, Membership, Organization, User
from accounts.roles import Role
from accounts.services import invitation_create
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # allauth counts sign-ups per address in the cache, across tests


@pytest.fixture
def invitation_token(org_a, admin_a, django_capture_on_commit_callbacks):
    membership = Membership.objects.unscoped().get(user=admin_a, organization=org_a)
    with django_capture_on_commit_callbacks(execute=True):
        _, token = invitation_create(
            organization=org_a, actor_membership=membership, email="maria@clinic.example", role=Role.DEVELOPER
        )
    mail.outbox.clear()
    return token


def sign_up(client, email):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, "full_name": "Maria Santos"},
    )


def test_the_page_names_the_invitation_and_the_organization(client, invitation_token, admin_a):
    html = client.get(reverse("invitation_accept", args=[invitation_token])).content.decode()
    assert "Join Alpha Retail" in html and "maria@clinic.example" in html and "Developer" in html
    assert admin_a.full_name in html
    assert 'id="invitation-sign-up"' in html  # no account under that address yet


def test_sign_up_from_the_invitation_joins_without_verification_or_an_own_organization(client, invitation_token, org_a):
    client.get(reverse("invitation_accept", args=[invitation_token]))
    signup_page = client.get(reverse("account_signup")).content.decode()
    assert 'value="maria@clinic.example"' in signup_page  # filled in from the invitation

    response = sign_up(client, "maria@clinic.example")
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = User.objects.get(email="maria@clinic.example")
    assert EmailAddress.objects.get(user=user).verified
    assert not [m for m in mail.outbox if "maria@clinic.example" in m.to and "confirm" in m.subject.lower()]
    memberships = Membership.objects.unscoped().filter(user=user)
    assert [(m.organization_id, m.role) for m in memberships] == [(org_a.pk, Role.DEVELOPER)]
    assert Organization.objects.count() == 1  # no "maria's team"
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.status_code == 200 and "Alpha Retail" in dashboard.content.decode()


def test_a_withdrawn_invitation_leaves_an_ordinary_sign_up(client, invitation_token, org_a):
    client.get(reverse("invitation_accept", args=[invitation_token]))
    Invitation.objects.unscoped().update(status=InvitationStatus.REVOKED)
    sign_up(client, "maria@clinic.example")
    user = User.objects.get(email="maria@clinic.example")
    assert not Membership.objects.unscoped().filter(user=user, organization=org_a).exists()
    assert Membership.objects.unscoped().filter(user=user, role=Role.OWNER).count() == 1


def test_an_existing_account_is_asked_to_sign_in(client, invitation_token, owner_b):
    Membership.objects.unscoped().filter(user=owner_b).delete()
    owner_b.email = "maria@clinic.example"
    owner_b.save(update_fields=["email"])
    html = client.get(reverse("invitation_accept", args=[invitation_token])).content.decode()
    assert 'id="invitation-sign-in"' in html and 'id="invitation-sign-up"' not in html


def test_an_unknown_link_is_404(client, db):
    assert client.get(reverse("invitation_accept", args=["not-a-token"])).status_code == 404
