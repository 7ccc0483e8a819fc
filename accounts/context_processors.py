from django.utils.functional import SimpleLazyObject

from accounts.selectors import memberships_for_user


def _memberships(request):
    if not request.user.is_authenticated:
        return []
    return list(memberships_for_user(user=request.user))


def active_organization(request):
    """The organization switcher's data. Lazily evaluated: a page that never shows the switcher runs no query."""
    return {
        "active_organization": getattr(request, "organization", None),
        "active_membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(lambda: _memberships(request)),
    }
