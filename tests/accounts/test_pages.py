import re

import pytest
from django.core import mail

from accounts.models import APIKey, Membership
from accounts.roles import Role
from tests.conftest import bearer_client, make_member


def test_api_key_page_shows_the_key_once(login_as, developer_a, org_a):
    client = login_as(developer_a, org_a)
    response = client.post("/organization/api-keys/", {"action": "create", "name": "ci"})
    assert response.status_code == 201
    raw_key = re.search(r'id="new-key">([^<]+)<', response.content.decode()).group(1)
    assert APIKey.objects.unscoped().get(name="ci").prefix in raw_key
    listing = client.get("/organization/api-keys/").content.decode()
    assert raw_key not in listing

    assert bearer_client(raw_key).get("/api/v1/me").status_code == 200


def test_viewer_cannot_create_keys(login_as, viewer_a, org_a):
    client = login_as(viewer_a, org_a)
    assert client.get("/organization/api-keys/").status_code == 200
    assert client.post("/organization/api-keys/", {"action": "create", "name": "x"}).status_code == 403
    assert not APIKey.objects.unscoped().exists()


def test_revoking_another_organizations_key_is_404(login_as, developer_a, org_a, api_key_b):
    client = login_as(developer_a, org_a)
    response = client.post("/organization/api-keys/", {"action": "revoke", "api_key_id": api_key_b[0].id})
    assert response.status_code == 404
    api_key_b[0].refresh_from_db()
    assert api_key_b[0].revoked_at is None


def test_members_page_and_invite(login_as, admin_a, org_a, django_capture_on_commit_callbacks):
    client = login_as(admin_a, org_a)
    assert client.get("/organization/members/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/organization/members/", {"action": "invite", "email": "x@y.example", "role": "viewer"})
    assert response.status_code == 302
    assert mail.outbox[0].to == ["x@y.example"]


def test_other_organizations_member_cannot_be_changed(login_as, owner_a, org_a, owner_b, org_b):
    client = login_as(owner_a, org_a)
    target = Membership.objects.unscoped().get(user=owner_b)
    response = client.post("/organization/members/", {"action": "role", "membership_id": target.id, "role": "viewer"})
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.role == Role.OWNER


def test_members_page_query_count_does_not_grow(login_as, owner_a, org_a, django_assert_max_num_queries):
    client = login_as(owner_a, org_a)
    for i in range(15):
        make_member(org_a, f"m{i}@alpha.example", Role.VIEWER)
    with django_assert_max_num_queries(12):
        assert client.get("/organization/members/").status_code == 200


def test_switching_to_an_organization_you_do_not_belong_to_is_404(client_owner_a, org_b):
    response = client_owner_a.post("/organizations/switch/", {"organization_id": org_b.id})
    assert response.status_code == 404


def test_switching_between_own_organizations(login_as, owner_a, org_a, org_b):
    Membership.objects.create(user=owner_a, organization=org_b, role=Role.VIEWER)
    client = login_as(owner_a, org_a)
    assert client.post("/organizations/switch/", {"organization_id": org_b.id}).status_code == 302
    assert client.get("/api/v1/me").json()["organization"]["slug"] == "bravo"


def test_membership_is_checked_on_every_request(login_as, viewer_a, org_a):
    client = login_as(viewer_a, org_a)
    assert client.get("/dashboard/").status_code == 200
    Membership.objects.unscoped().filter(user=viewer_a).delete()
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.url.endswith("/organizations/new/")


@pytest.mark.parametrize(
    "url", ["/dashboard/", "/organization/members/", "/organization/api-keys/", "/account/sign-ins/"]
)
def test_pages_need_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response.url
