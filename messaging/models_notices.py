"""Who dismissed which site notice: kept per person (not per session), so a dismissed notice stays hidden across
sign-ins. A new fallback is a new `Notice` row, so it shows again."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class NoticeDismissal(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey("messaging.Notice", on_delete=models.CASCADE, related_name="dismissals")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Also the index of the read: one person's dismissals among the active notices.
            models.UniqueConstraint(fields=["user", "notice"], name="notice_dismissal_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} dismissed {self.notice_id}"
