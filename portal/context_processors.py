from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _memberships(request):
    from accounts.selectors import memberships_for_user

    if not request.user.is_authenticated:
        return []
    return list(memberships_for_user(user=request.user))


def _notices(request):
    from messaging.selectors import notice_list_active

    if not request.user.is_authenticated:
        return []
    return list(notice_list_active()[:5])


def portal(request):
    """Lazily evaluated: a page that never shows the organization switcher or the notices runs no query for them."""
    return {
        "site_name": settings.SITE_NAME,
        "active_organization": getattr(request, "organization", None),
        "active_membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(lambda: _memberships(request)),
        "site_notices": SimpleLazyObject(lambda: _notices(request)),
    }
