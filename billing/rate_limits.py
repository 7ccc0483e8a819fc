"""The API rate limits of an organization's price plan (answers `portal.throttling.organization_rate_limits`)."""

from django.core.cache import cache

from billing.models import CreditAccount, PricePlan
from portal.throttling import RateLimits, default_rate_limits

CACHE_SECONDS = 60


def plan_rate_limits(*, organization_id: int) -> RateLimits:
    """The plan's limits, the site defaults where it sets none; the plan's values are cached a minute (asked on
    every API request)."""
    cache_key = f"ratelimit-plan:{organization_id}"
    cached = cache.get(cache_key)
    if cached is None:
        account = CreditAccount.objects.filter(organization_id=organization_id).select_related("price_plan").first()
        plan = account.price_plan if account is not None and account.price_plan else None
        plan = plan or PricePlan.objects.filter(is_default=True).first()
        cached = (
            (plan.api_requests_per_minute_per_key, plan.api_requests_per_minute_per_organization)
            if plan
            else (None, None)
        )
        cache.set(cache_key, cached, CACHE_SECONDS)
    per_key, per_organization = cached
    defaults = default_rate_limits()
    return RateLimits(
        per_key=per_key or defaults.per_key, per_organization=per_organization or defaults.per_organization
    )
