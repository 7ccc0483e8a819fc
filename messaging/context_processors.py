from django.utils.functional import SimpleLazyObject

from messaging.selectors import notice_list_active

SITE_NOTICES_SHOWN = 5


def _notices(request):
    if not request.user.is_authenticated:
        return []
    return list(notice_list_active()[:SITE_NOTICES_SHOWN])


def site_notices(request):
    """The notices above every page. Lazily evaluated: a page that never shows them runs no query."""
    return {"site_notices": SimpleLazyObject(lambda: _notices(request))}
