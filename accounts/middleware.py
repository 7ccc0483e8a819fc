"""Resolves the active organization once per request, from the session, checking membership every time."""

from django.utils.functional import SimpleLazyObject

from accounts.active_organization import page_memberships
from accounts.staff_access import staff_area_redirect


def _resolve(request):
    if getattr(request, "_membership_resolved", False):
        return request._membership_cache
    request._membership_resolved = True
    request._membership_cache = None
    request._memberships_cache = []
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    # One query gives the active membership and the switcher's list (accounts.active_organization.page_memberships).
    request._membership_cache, request._memberships_cache = page_memberships(session=request.session, user=user)
    return request._membership_cache


def _memberships(request):
    _resolve(request)
    return request._memberships_cache


class ActiveOrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _resolve(request))
        request.organization = SimpleLazyObject(lambda: m.organization if (m := _resolve(request)) else None)
        request.user_memberships = SimpleLazyObject(lambda: _memberships(request))
        return self.get_response(request)


class StaffMultiFactorMiddleware:
    """Before any view: staff reach staff areas only with a second factor (accounts.staff_access)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        return staff_area_redirect(request)
