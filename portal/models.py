"""Portal's own table: the claims that make each periodic job run once per due time across every scheduler."""

from django.db import models
from django.utils import timezone


class PeriodicRun(models.Model):
    """One row per periodic job per due time. The scheduler that inserts it enqueues the job in the same
    transaction; every other scheduler (another machine, a second process started by mistake) finds the row
    taken and skips, so adding schedulers never runs a job twice."""

    job = models.CharField(max_length=200, help_text="Dotted path of the task")
    due_at = models.DateTimeField(help_text="Start of the interval this run covers (aligned to the epoch)")
    enqueued_at = models.DateTimeField(default=timezone.now)
    scheduler = models.CharField(max_length=200, blank=True, help_text="host:pid of the scheduler that enqueued it")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "due_at"], name="periodic_run_once_per_due_time")]
        indexes = [models.Index(fields=["enqueued_at"], name="periodic_run_enqueued")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.due_at.isoformat()}"
