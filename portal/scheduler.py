"""Periodic jobs, run once per due time however many schedulers are started (`manage.py run_scheduler`).

Each installed app may declare `SCHEDULE = [("dotted.task", seconds), ...]` in `<app>/periodic.py`. Due times are
aligned to the epoch, so every scheduler on every machine computes the same ones whatever its start time: a job
every 60 s is due at each whole minute, a daily job at 00:00 UTC. For each due time, the scheduler that inserts the
(job, due time) row into `PeriodicRun` enqueues the job in the same transaction; the others hit the unique
constraint and skip. If the enqueue fails (Redis down), the claim rolls back with it and the next tick tries again.
On the database backend the claim and the task row commit together; on RQ the job is in Redis just before the claim
commits, so only a failed commit right then could let a second scheduler enqueue the same due time.

The scheduler only enqueues; the task worker runs the job (on the queue its `@task` names). Every periodic task is
idempotent as well, so an operator's `run_scheduler --once` next to running schedulers does no harm.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from portal.models import PeriodicRun

logger = logging.getLogger(__name__)

# Claims older than this are deleted (they are only a record of what ran when; no scheduler looks that far back).
PERIODIC_RUNS_KEPT_FOR = timedelta(days=7)


@dataclass(frozen=True)
class PeriodicJob:
    path: str
    seconds: int


def schedule_collect() -> list[PeriodicJob]:
    """Every app's SCHEDULE, one entry per task (a task listed twice keeps its shortest interval)."""
    intervals: dict[str, int] = {}
    for app_config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app_config.name}.periodic")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.periodic":
                raise
            continue
        for path, seconds in getattr(module, "SCHEDULE", []):
            seconds = int(seconds)
            if seconds <= 0:
                raise ValueError(f"{app_config.name}.periodic: {path} has a non-positive interval ({seconds})")
            intervals[path] = min(seconds, intervals.get(path, seconds))
    return [PeriodicJob(path=path, seconds=seconds) for path, seconds in intervals.items()]


def due_time(*, seconds: int, now: datetime) -> datetime:
    """The start of the interval `now` falls in, counted from the epoch (the same on every machine)."""
    epoch_seconds = int(now.timestamp())
    return datetime.fromtimestamp(epoch_seconds - epoch_seconds % seconds, tz=UTC)


def periodic_run_claim(*, job: str, due_at: datetime, enqueue: Callable[[], object], scheduler: str) -> bool:
    """Claim (job, due_at) and enqueue it in one transaction. False when another scheduler claimed it first.

    An exception from `enqueue` propagates and leaves no claim behind."""
    try:
        with transaction.atomic():
            PeriodicRun.objects.create(job=job, due_at=due_at, scheduler=scheduler[:200])
            enqueue()
    except IntegrityError:
        return False
    return True


def periodic_runs_prune(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = PeriodicRun.objects.filter(enqueued_at__lt=now - PERIODIC_RUNS_KEPT_FOR).delete()
    return deleted


@dataclass
class TickResult:
    enqueued: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)  # claimed by another scheduler
    failed: dict[str, str] = field(default_factory=dict)  # path -> error; retried on the next tick


class Scheduler:
    """Call `tick()` about once a second: it enqueues each job whose due time came and nobody claimed yet."""

    def __init__(self, schedule: list[PeriodicJob], *, name: str | None = None) -> None:
        self.schedule = schedule
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.tasks = {job.path: import_string(job.path) for job in schedule}
        self._handled: dict[str, datetime] = {}  # path -> last due time claimed or found taken

    def tick(self, now: datetime | None = None) -> TickResult:
        now = now or timezone.now()
        result = TickResult()
        for job in self.schedule:
            due_at = due_time(seconds=job.seconds, now=now)
            if self._handled.get(job.path) == due_at:
                continue
            try:
                claimed = periodic_run_claim(
                    job=job.path, due_at=due_at, enqueue=self.tasks[job.path].enqueue, scheduler=self.name
                )
            except Exception as exc:  # keep scheduling the others; this one is tried again next tick
                logger.warning("could not enqueue %s: %s", job.path, exc)
                result.failed[job.path] = str(exc)
                continue
            self._handled[job.path] = due_at
            (result.enqueued if claimed else result.taken).append(job.path)
        return result
