"""Rate limits: per API key, per organization, per address for failed authentication; headers on every answer."""

import pytest
from django.test import override_settings

from accounts.services import api_key_create
from portal.throttling import OrganizationRateThrottle
from tests.conftest import bearer_client


@pytest.fixture
def limit_of(monkeypatch):
    def set_limit(per_minute: int):
        monkeypatch.setattr(OrganizationRateThrottle, "THROTTLE_RATES", {"organization": f"{per_minute}/min"})

    return set_limit


def test_answers_carry_the_rate_limit_headers(api_client_a, limit_of):
    limit_of(5)
    first = api_client_a.get("/api/v1/balance")
    second = api_client_a.get("/api/v1/balance")
    assert first.status_code == 200
    assert first["X-RateLimit-Limit"] == "5"
    assert first["X-RateLimit-Remaining"] == "4"
    assert second["X-RateLimit-Remaining"] == "3"
    assert int(first["X-RateLimit-Reset"]) > 0


def test_the_429_says_rate_limited_as_the_error_table_does(api_client_a, limit_of):
    limit_of(2)
    for _ in range(2):
        assert api_client_a.get("/api/v1/balance").status_code == 200
    limited = api_client_a.get("/api/v1/balance")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    assert limited["X-RateLimit-Remaining"] == "0"


def test_the_organization_budget_is_shared_by_its_keys(org_a, developer_a, api_client_a, api_client_b, limit_of):
    limit_of(3)
    _, raw = api_key_create(organization=org_a, actor=developer_a, name="second")
    other_key = bearer_client(raw)
    assert api_client_a.get("/api/v1/balance").status_code == 200
    assert other_key.get("/api/v1/balance").status_code == 200
    assert api_client_a.get("/api/v1/balance").status_code == 200
    assert other_key.get("/api/v1/balance").status_code == 429
    # Another organization has its own budget.
    assert api_client_b.get("/api/v1/balance").status_code == 200


@override_settings(API_RATE_LIMIT_PER_KEY="2/min")
def test_each_key_has_its_own_budget_within_the_organization(org_a, developer_a, api_client_a, limit_of):
    limit_of(10)
    _, raw = api_key_create(organization=org_a, actor=developer_a, name="second")
    other_key = bearer_client(raw)
    assert [api_client_a.get("/api/v1/balance").status_code for _ in range(3)] == [200, 200, 429]
    assert other_key.get("/api/v1/balance").status_code == 200


@override_settings(API_FAILED_AUTHENTICATION_LIMIT=3)
def test_invalid_keys_are_limited_per_client_address(api_client_a):
    guesser = bearer_client("sk_live_not-a-real-key")
    assert [guesser.get("/api/v1/balance").status_code for _ in range(3)] == [401, 401, 401]
    limited = guesser.get("/api/v1/balance")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited["X-RateLimit-Limit"] == "3"
