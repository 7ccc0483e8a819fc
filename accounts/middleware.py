"""Resolves the active organization once per request, from the session, checking membership every time."""

from django.utils.functional import SimpleLazyObject

from accounts.active_organization import active_organization_clear, active_organization_set, session_membership
from accounts.selectors import memberships_for_user
from accounts.staff_access import staff_area_redirect
from portal.errors import NotFound


def _resolve(request):
    if getattr(request, "_membership_resolved", False):
        return request._membership_cache
    request._membership_resolved = True
    request._membership_cache = None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        membership = session_membership(session=request.session, user=user)
    except NotFound:
        active_organization_clear(session=request.session)
        membership = None
    if membership is None:
        # Pages need an organization: the first one the person belongs to, remembered for the next request.
        membership = memberships_for_user(user=user).first()
        if membership is not None:
            active_organization_set(session=request.session, organization_id=membership.organization_id)
    request._membership_cache = membership
    return membership


class ActiveOrganizationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _resolve(request))
        request.organization = SimpleLazyObject(lambda: m.organization if (m := _resolve(request)) else None)
        return self.get_response(request)


class StaffMultiFactorMiddleware:
    """Before any view: staff reach staff areas only with a second factor (accounts.staff_access)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        return staff_area_redirect(request)
