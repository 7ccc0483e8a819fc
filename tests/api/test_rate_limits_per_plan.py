"""Rate limits are set per price plan in admin and shown on the API keys page."""

from django.urls import reverse

from billing.models import CreditAccount, PricePlan


def _plan_for(organization, **limits) -> PricePlan:
    plan = PricePlan.objects.create(name="Limited", **limits)
    CreditAccount.objects.update_or_create(organization=organization, defaults={"price_plan": plan})
    return plan


def test_the_plan_limits_each_key(org_a, api_client_a):
    _plan_for(org_a, api_requests_per_minute_per_key=2, api_requests_per_minute_per_organization=50)
    answers = [api_client_a.get("/api/v1/balance") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0]["X-RateLimit-Limit"] == "2"


def test_the_plan_limits_the_organization(org_a, api_client_a):
    _plan_for(org_a, api_requests_per_minute_per_key=50, api_requests_per_minute_per_organization=1)
    assert [api_client_a.get("/api/v1/balance").status_code for _ in range(2)] == [200, 429]


def test_the_api_keys_page_shows_the_plan_limits(org_a, client_owner_a):
    _plan_for(org_a, api_requests_per_minute_per_key=120, api_requests_per_minute_per_organization=900)
    page = client_owner_a.get(reverse("api_keys")).content.decode()
    assert "120 requests/minute per key, 900 per organization" in page
