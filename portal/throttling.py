"""API rate limit (kept apart from portal.api: DRF imports throttles while its views module loads)."""

from rest_framework.throttling import SimpleRateThrottle


class OrganizationRateThrottle(SimpleRateThrottle):
    """One budget per organization (all its keys and members together), else per user, else per IP."""

    scope = "organization"

    def get_cache_key(self, request, view):
        organization = getattr(view, "organization", None)
        if organization is not None:
            ident = f"org:{organization.pk}"
        elif request.user and request.user.is_authenticated and getattr(request.user, "pk", None):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
