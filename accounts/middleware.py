"""Resolves the active organization once per request, from the session, checking membership every time."""

from django.utils.functional import SimpleLazyObject

from accounts.selectors import membership_get, memberships_for_user
from portal.errors import NotFound

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization_id"


def _resolve(request):
    if getattr(request, "_membership_resolved", False):
        return request._membership_cache
    request._membership_resolved = True
    request._membership_cache = None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    organization_id = request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    membership = None
    if organization_id:
        try:
            membership = membership_get(user=user, organization_id=organization_id)
        except NotFound:
            request.session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
    if membership is None:
        membership = memberships_for_user(user=user).first()
        if membership is not None:
            request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = membership.organization_id
    request._membership_cache = membership
    return membership


class ActiveOrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _resolve(request))
        request.organization = SimpleLazyObject(lambda: m.organization if (m := _resolve(request)) else None)
        return self.get_response(request)
