"""API rate limits (kept apart from portal.api: DRF imports throttles while its views module loads).

Budgets are counted per minute in the configured cache (`CACHE_URL`: Redis in production), with an atomic
increment, so every web process shares one count:
- per API key and per organization (all its keys and members together); a session without a key counts against
  its organization;
- per client address for requests whose authentication failed, so guessing keys is limited too.

Each answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds) of the
tightest budget it counted against; a refused request answers 429 `rate_limited` with `Retry-After`.
Per-organization limits come from `organization_rate_limits` (the organization's price plan answers); the defaults
are the settings `API_RATE_LIMIT` (organization) and `API_RATE_LIMIT_PER_KEY`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from portal.hooks import Hook

WINDOW_SECONDS = 60


def _now() -> float:
    return time.time()


MIN_FAILED_AUTHENTICATION_LIMIT = 30

organization_rate_limits = Hook(
    "organization_rate_limits",
    "answer(*, organization_id: int) -> RateLimits | None: the organization's limits (its price plan), or None",
)


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute."""

    per_key: int
    per_organization: int


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # Unix seconds when the window ends
    exceeded: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def _per_minute(rate: str) -> int:
    """'600/min' -> 600 (also '10/s', '3600/hour')."""
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[:1]]
    return max(1, int(int(count) * WINDOW_SECONDS / seconds))


def default_rate_limits() -> RateLimits:
    rates = OrganizationRateThrottle.THROTTLE_RATES or settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    per_organization = _per_minute(rates.get("organization") or "600/min")
    per_key = getattr(settings, "API_RATE_LIMIT_PER_KEY", None)
    return RateLimits(per_key=_per_minute(per_key) if per_key else per_organization, per_organization=per_organization)


def rate_limits_for(organization_id: int) -> RateLimits:
    for answer in organization_rate_limits.call_all(organization_id=organization_id):
        if answer is not None:
            return answer
    return default_rate_limits()


def failed_authentication_limit() -> int:
    """Setting `API_FAILED_AUTHENTICATION_LIMIT`, else a twentieth of the organization limit, at least 30."""
    configured = getattr(settings, "API_FAILED_AUTHENTICATION_LIMIT", None)
    if configured:
        return configured
    return max(MIN_FAILED_AUTHENTICATION_LIMIT, default_rate_limits().per_organization // 20)


def _window(now: float) -> tuple[int, int]:
    window = int(now // WINDOW_SECONDS)
    return window, (window + 1) * WINDOW_SECONDS


def count_request(ident: str, limit: int, *, now: float | None = None) -> RateLimitState:
    """Count one request against `ident`'s budget for this minute (atomic in the cache)."""
    window, reset = _window(_now() if now is None else now)
    key = f"ratelimit:{ident}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
        used = 1
    return RateLimitState(limit=limit, remaining=max(limit - used, 0), reset=reset, exceeded=used > limit)


def peek(ident: str, limit: int, *, now: float | None = None) -> RateLimitState:
    """The budget as it stands, without counting."""
    window, reset = _window(_now() if now is None else now)
    used = cache.get(f"ratelimit:{ident}:{window}", 0)
    return RateLimitState(limit=limit, remaining=max(limit - used, 0), reset=reset, exceeded=used >= limit)


def tightest(states: list[RateLimitState]) -> RateLimitState:
    exceeded = [state for state in states if state.exceeded]
    return (exceeded or sorted(states, key=lambda state: (state.remaining, state.limit)))[0]


class OrganizationRateThrottle(BaseThrottle):
    """Per API key and per organization; a signed-in person without an organization, or nobody, per user / address.

    The state it counted is left on the request as `rate_limit` (the base view turns it into headers)."""

    THROTTLE_RATES: dict[str, str] | None = None  # {"organization": "600/min"} overrides the settings (tests)

    def allow_request(self, request, view):
        organization = getattr(view, "organization", None)
        api_key = getattr(view, "api_key", None)
        if organization is not None:
            limits = rate_limits_for(organization.pk)
            budgets = [(f"org:{organization.pk}", limits.per_organization)]
            if api_key is not None:
                budgets.append((f"key:{api_key.pk}", limits.per_key))
        elif request.user and request.user.is_authenticated and getattr(request.user, "pk", None):
            budgets = [(f"user:{request.user.pk}", default_rate_limits().per_organization)]
        else:
            budgets = [(f"ip:{self.get_ident(request)}", default_rate_limits().per_organization)]
        self.state = tightest([count_request(ident, limit) for ident, limit in budgets])
        request.rate_limit = self.state
        return not self.state.exceeded

    def wait(self):
        return retry_after(self.state)


def retry_after(state: RateLimitState) -> int:
    return max(1, int(state.reset - _now()))
