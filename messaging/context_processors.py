from django.utils.functional import SimpleLazyObject

from messaging.notice_selectors import notices_for


def _notices(request):
    if not request.user.is_authenticated:
        return []
    return notices_for(organization=getattr(request, "organization", None), user=request.user)


def site_notices(request):
    """The notices above every page. Lazily evaluated: a page that never shows them runs no query."""
    return {"site_notices": SimpleLazyObject(lambda: _notices(request))}
