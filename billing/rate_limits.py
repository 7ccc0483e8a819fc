"""The API rate limits of an organization's price plan (answers `portal.throttling.organization_rate_limits`)."""

from django.core.cache import cache

from billing.models import CreditAccount, PricePlan
from portal.throttling import RateLimits, default_rate_limits

CACHE_SECONDS = 60


def plan_rate_limits(*, organization_id: int) -> RateLimits:
    """The plan's limits, the site defaults where it sets none; cached a minute (asked on every API request)."""
    cache_key = f"ratelimit-plan:{organization_id}"
    cached = cache.get(cache_key)
    if cached is not None:
        return RateLimits(*cached)
    account = CreditAccount.objects.filter(organization_id=organization_id).select_related("price_plan").first()
    plan = account.price_plan if account is not None and account.price_plan else None
    plan = plan or PricePlan.objects.filter(is_default=True).first()
    defaults = default_rate_limits()
    limits = RateLimits(
        per_key=(plan and plan.api_requests_per_minute_per_key) or defaults.per_key,
        per_organization=(plan and plan.api_requests_per_minute_per_organization) or defaults.per_organization,
    )
    cache.set(cache_key, (limits.per_key, limits.per_organization), CACHE_SECONDS)
    return limits
