from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api_usage import api_request_logs_flush
from accounts.models import APIKey, APIRequestLog
from accounts.services import api_key_create, api_key_revoke, organization_suspend
from portal.errors import OrganizationSuspended
from tests.conftest import bearer_client


def test_database_holds_no_usable_key(api_key_a):
    api_key, raw_key = api_key_a
    row = APIKey.objects.unscoped().get(id=api_key.id)
    assert raw_key not in {row.key_hash, row.prefix}
    assert raw_key.startswith(row.prefix)
    # Someone with a copy of the table tries the stored values as keys: refused.
    for stolen in (row.key_hash, row.prefix):
        response = bearer_client(stolen).get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"


def test_me_answers_organization_and_key(api_client_a, api_key_a, org_a):
    response = api_client_a.get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["organization"] == {"id": org_a.id, "name": org_a.name, "slug": "alpha", "status": "active"}
    assert body["key"]["name"] == "Alpha server"
    assert body["key"]["prefix"] == api_key_a[0].prefix
    assert "created" in body["key"]


def test_each_key_sees_only_its_organization(api_client_a, api_client_b, org_b):
    assert api_client_b.get("/api/v1/me").json()["organization"]["slug"] == "bravo"
    assert api_client_a.get("/api/v1/me").json()["organization"]["slug"] == "alpha"


def test_revoked_key_is_refused(api_key_a, org_a, developer_a):
    api_key, raw_key = api_key_a
    api_key_revoke(organization=org_a, actor=developer_a, api_key_id=api_key.id)
    response = bearer_client(raw_key).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "api_key_revoked",
        "message": "This API key was revoked.",
        "details": {},
    }


def test_expired_key_is_refused(org_a, developer_a):
    api_key, raw_key = api_key_create(
        organization=org_a, actor=developer_a, name="short", expires_at=timezone.now() + timedelta(minutes=5)
    )
    APIKey.objects.unscoped().filter(id=api_key.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer_client(raw_key).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"


def test_missing_and_malformed_credentials(db):
    response = APIClient().get("/api/v1/me")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert client.get("/api/v1/me").json()["error"]["code"] == "authentication_failed"


def test_last_used_is_recorded_and_requests_are_logged(api_client_a, api_key_a, org_a):
    api_client_a.get("/api/v1/me")
    api_key_a[0].refresh_from_db()
    assert api_key_a[0].last_used_at is not None
    assert api_request_logs_flush() == 1
    log = APIRequestLog.objects.unscoped().get()
    assert (log.organization_id, log.api_key_id, log.method, log.path, log.status_code) == (
        org_a.id,
        api_key_a[0].id,
        "GET",
        "/api/v1/me",
        200,
    )


def test_suspended_organization_reads_but_cannot_create_keys(api_client_a, org_a, developer_a):
    organization_suspend(organization=org_a, actor=None, reason="unpaid invoice")
    assert api_client_a.get("/api/v1/me").status_code == 200
    with pytest.raises(OrganizationSuspended) as exc:
        api_key_create(organization=org_a, actor=developer_a, name="new")
    assert "unpaid invoice" in exc.value.message


def test_unknown_method_is_refused_with_the_error_shape(api_client_a):
    response = api_client_a.post("/api/v1/me", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_session_user_uses_active_organization(client_owner_a, org_a):
    response = client_owner_a.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "organization": {"id": org_a.id, "name": org_a.name, "slug": "alpha", "status": "active"},
        "key": None,
    }


def test_session_with_foreign_organization_is_refused(login_as, owner_b, org_a):
    client = login_as(owner_b, org_a)  # session claims org a; membership check must refuse
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_a_member"
