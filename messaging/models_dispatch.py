"""Whether a run of a dispatcher task has been asked for and has not started yet (`messaging.dispatch.wake`).

One row per dispatcher task (its dotted path). No personal data, not owned by an organization.
"""

from django.db import models


class DispatchWake(models.Model):
    task_path = models.CharField(max_length=200, primary_key=True)
    wanted_at = models.DateTimeField(
        null=True, blank=True, help_text="When a run was enqueued that has not started yet; empty once one starts"
    )

    class Meta:
        verbose_name = "dispatcher wake-up"

    def __str__(self) -> str:
        return f"{self.task_path}: {'run wanted since ' + self.wanted_at.isoformat() if self.wanted_at else 'idle'}"
