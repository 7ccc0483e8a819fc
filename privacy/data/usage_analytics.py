"""Staff usage statistics that respect objections: people who objected to usage analytics are never counted."""

from accounts.models import APIRequestLog, User
from messaging.models import Message
from privacy.data.models import ProcessingKind, ProcessingObjection


def usage_analytics_users():
    """Active users who did not object to usage analytics: the only people aggregate usage statistics may
    count."""
    objected = ProcessingObjection.objects.filter(
        processing=ProcessingKind.USAGE_ANALYTICS, withdrawn_at__isnull=True
    ).values("user_id")
    return User.objects.filter(is_active=True).exclude(pk__in=objected)


def usage_analytics_summary(*, since) -> dict[str, int]:
    """Staff usage statistics since a time: users, messages and API requests — people who objected left
    out."""
    users = usage_analytics_users()
    return {
        "users": users.count(),
        "active_users": users.filter(last_login__gte=since).count(),
        "messages_sent_by_users": Message.objects.unscoped()
        .filter(created_at__gte=since, created_by__in=users)
        .count(),
        "api_requests_by_users": APIRequestLog.objects.unscoped().filter(created_at__gte=since, user__in=users).count(),
    }
