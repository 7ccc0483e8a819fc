"""Policy acknowledgement through the API: the signed-in person, a published version, the usual error shape, and
a description in the OpenAPI schema written for integrators."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from privacy import policy as privacy_policy
from privacy.models import PolicyAcknowledgement
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/privacy/acknowledgements"


@pytest.fixture
def published():
    return privacy_policy.privacy_seed_policy()


def _session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_signed_in_person_acknowledges_a_published_version_once(owner_a, published):
    version = privacy_policy.policy_current().version
    client = _session(owner_a)
    first = client.post(URL, {"version": version}, format="json", REMOTE_ADDR="203.0.113.5")
    assert first.status_code == 201, first.content
    assert first.json()["version"] == version and first.json()["acknowledged_at"]
    acknowledgement = PolicyAcknowledgement.objects.get(user=owner_a)
    assert acknowledgement.ip_address == "203.0.113.5"
    again = client.post(URL, {"version": version}, format="json")
    assert again.status_code == 200 and PolicyAcknowledgement.objects.count() == 1


def test_errors_have_the_usual_shape(owner_a, api_key_a, published):
    client = _session(owner_a)
    missing = client.post(URL, {"version": 999}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    invalid = client.post(URL, {"version": "latest"}, format="json")
    assert invalid.status_code == 400 and "version" in invalid.json()["error"]["details"]
    by_key = bearer_client(api_key_a[1]).post(URL, {"version": 1}, format="json")
    assert by_key.status_code == 403 and "error" in by_key.json()
    assert not PolicyAcknowledgement.objects.exists()


def test_the_schema_describes_it_for_integrators():
    out = StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    operation = json.loads(out.getvalue())["paths"][URL]["post"]
    assert operation["operationId"] == "privacy_policy_acknowledge"
    assert "apps that show the privacy policy notice themselves" in operation["description"]
    assert set(operation["responses"]) >= {"200", "201"}
