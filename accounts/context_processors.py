from django.utils.functional import SimpleLazyObject

from accounts.selectors import memberships_for_user


def _memberships(request):
    if not request.user.is_authenticated:
        return []
    return list(memberships_for_user(user=request.user))


def active_organization(request):
    """The organization switcher's data. Lazily evaluated: a page that never shows the switcher runs no query.

    Behind `accounts.middleware.ActiveOrganizationMiddleware` the list is the one the active membership was read
    from (no second query); without it (a request built by hand) it is read here.
    """
    memberships = getattr(request, "user_memberships", None)
    return {
        "active_organization": getattr(request, "organization", None),
        "active_membership": getattr(request, "membership", None),
        "user_memberships": memberships if memberships is not None else SimpleLazyObject(lambda: _memberships(request)),
    }
