from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _memberships(request):
    from accounts.selectors import memberships_for_user

    if not request.user.is_authenticated:
        return []
    return list(memberships_for_user(user=request.user))


def portal(request):
    return {
        "site_name": getattr(settings, "SITE_NAME", "SMS Portal"),
        "active_organization": getattr(request, "organization", None),
        "active_membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(lambda: _memberships(request)),
        "site_notices": [],
    }
