from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Invitation, InvitationStatus, Membership
from accounts.roles import Role
from accounts.services import invitation_accept, invitation_create
from portal.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from tests.conftest import make_user


@pytest.fixture
def invite(org_a, admin_a, django_capture_on_commit_callbacks):
    admin_membership = Membership.objects.unscoped().get(user=admin_a, organization=org_a)
    with django_capture_on_commit_callbacks(execute=True):
        return invitation_create(
            organization=org_a,
            actor_membership=admin_membership,
            email="New@Person.example",
            role=Role.DEVELOPER,
        )


def test_invitation_is_emailed_with_a_token_we_do_not_store(invite):
    invitation, token = invite
    assert len(mail.outbox) == 1
    assert token in mail.outbox[0].body
    assert token not in invitation.token_hash
    assert invitation.email == "new@person.example"
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)


def test_accept_creates_the_membership(invite, org_a):
    invitation, token = invite
    user = make_user("new@person.example")
    membership = invitation_accept(token=token, user=user)
    assert membership.organization == org_a and membership.role == Role.DEVELOPER
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED


def test_reused_invitation_is_refused(invite):
    _, token = invite
    user = make_user("new@person.example")
    invitation_accept(token=token, user=user)
    with pytest.raises(Conflict) as exc:
        invitation_accept(token=token, user=user)
    assert exc.value.code == "invitation_used"


def test_expired_invitation_is_refused(invite):
    invitation, token = invite
    Invitation.objects.unscoped().filter(id=invitation.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as exc:
        invitation_accept(token=token, user=make_user("new@person.example"))
    assert exc.value.code == "invitation_expired"
    assert not Membership.objects.unscoped().filter(user__email="new@person.example").exists()


def test_wrong_account_cannot_use_someone_elses_invitation(invite):
    _, token = invite
    with pytest.raises(PermissionDenied):
        invitation_accept(token=token, user=make_user("intruder@evil.example"))


def test_unknown_token(db):
    with pytest.raises(NotFound):
        invitation_accept(token="nope", user=make_user("x@y.example"))


def test_viewer_cannot_invite(org_a, viewer_a):
    with pytest.raises(PermissionDenied):
        invitation_create(
            organization=org_a,
            actor_membership=Membership.objects.unscoped().get(user=viewer_a),
            email="a@b.example",
            role="viewer",
        )


def test_invitation_page_flow(invite, client, org_a):
    invitation, token = invite
    user = make_user("new@person.example")
    client.force_login(user)
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 200 and org_a.name in page.content.decode()
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 302
    again = client.post(f"/invitations/{token}/")
    assert again.status_code == 409
    assert "already been used" in again.content.decode()
