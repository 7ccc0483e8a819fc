"""Which site notices a signed-in person sees: staff announcements to everyone; the fallback-route notice only to
the organizations whose messages went through the fallback since it was published; none that the person dismissed
(a new fallback is a new notice, so it shows again)."""

from __future__ import annotations

from messaging.models import Message, Notice, NoticeDismissal, NoticeKind
from messaging.selectors import notice_list_active

SHOWN_AT_MOST = 5


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
    """The active notices this person sees above every page, newest first: two queries (the notices, then which of
    them this person dismissed)."""
    active = list(notice_list_active()[: SHOWN_AT_MOST * 2])
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
