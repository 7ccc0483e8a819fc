"""Which site notices a signed-in person sees: staff announcements to everyone; the fallback-route notice only to
the organizations whose messages went through the fallback since it was published; none that the person dismissed
(a new fallback is a new notice, so it shows again).

Every signed-in page asks, and there is rarely any notice: the active notices are cached for
`ACTIVE_NOTICES_CACHE_SECONDS`, dropped on each save or delete of a notice in this process (publishing, editing and
withdrawing all save it: `messaging.services.notices`, admin) and at most that old in the others (a shared cache
such as Redis is dropped at once). With none active a page reads nothing; which ones this person dismissed is read
fresh when there are some, so a dismissal shows at once.
"""

from __future__ import annotations

from django.core.cache import cache

from messaging.models import Message, Notice, NoticeDismissal, NoticeKind
from messaging.selectors import notice_list_active
from portal.cache_keys import drop_on_change

SHOWN_AT_MOST = 5
ACTIVE_NOTICES_CACHE_SECONDS = 5
_ACTIVE_NOTICES_KEY = "messaging:active-notices:v1"


def notices_active_cached() -> list[Notice]:
    """The newest active notices (as many as a page may need), possibly a few seconds old."""
    active = cache.get(_ACTIVE_NOTICES_KEY)
    if active is None:
        active = list(notice_list_active()[: SHOWN_AT_MOST * 2])
        cache.set(_ACTIVE_NOTICES_KEY, active, ACTIVE_NOTICES_CACHE_SECONDS)
    return active


def notices_cache_connect() -> None:
    """Drop the cached notices when one changes; called once from `messaging.receivers.register` (idempotent)."""
    drop_on_change(model=Notice, key=_ACTIVE_NOTICES_KEY, uid="messaging.notices_changed")


def fallback_primary_id(notice: Notice) -> int | None:
    """The primary route a fallback notice is about (its dedupe key is "fallback-route:<provider id>")."""
    _, _, provider_id = notice.dedupe_key.partition(":")
    return int(provider_id) if provider_id.isdigit() else None


def fallback_concerns(notice: Notice, *, organization) -> bool:
    """Whether the organization has a message routed elsewhere than the primary since the fallback began."""
    if organization is None:
        return False
    return (
        Message.objects.filter(organization=organization, created_at__gte=notice.published_at, provider__isnull=False)
        .exclude(provider_id=fallback_primary_id(notice))
        .exists()
    )


def notices_for(*, organization, user) -> list[Notice]:
    """The active notices this person sees above every page, newest first: the cached active notices, then (only
    when there are some) which of them this person dismissed."""
    active = notices_active_cached()
    dismissed = (
        set(
            NoticeDismissal.objects.filter(user=user, notice__in=[n.pk for n in active]).values_list(
                "notice_id", flat=True
            )
        )
        if active
        else set()
    )
    shown = []
    for notice in active:
        if notice.pk in dismissed:
            continue
        if notice.kind == NoticeKind.FALLBACK_ROUTE and not fallback_concerns(notice, organization=organization):
            continue
        shown.append(notice)
    return shown[:SHOWN_AT_MOST]
