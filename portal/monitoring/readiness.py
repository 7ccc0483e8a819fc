"""What /readyz asks: the database, the cache, the task queue, then every app's `portal.hooks.readiness_checks`.

Each finding is (name, ok, detail). The database and cache probes are django-health-check's; a probe that raises
is a finding that is not ok, never an error page: the probe must answer while half the site is down.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import UTC, datetime

import django_rq
from django.conf import settings
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import HealthCheckException

from portal import hooks
from portal.queues import IMMEDIATE_BACKEND, QUEUES_IN_PRIORITY_ORDER, RQ_BACKEND

logger = logging.getLogger(__name__)

Finding = tuple[str, bool, str]


def _probe(name: str, check: HealthCheck) -> Finding:
    try:
        outcome = check.run()
        if inspect.isawaitable(outcome):
            asyncio.run(outcome)
    except HealthCheckException as exc:
        return (name, False, str(exc))
    except Exception as exc:  # an unreachable backend raises whatever its client raises
        logger.warning("readiness probe %s failed", name, exc_info=True)
        return (name, False, f"{type(exc).__name__}: {exc}")
    return (name, True, "reachable")


def database_finding() -> Finding:
    return _probe("database", Database(alias="default"))


def cache_finding() -> Finding:
    return _probe("cache", Cache(alias="default"))


def _queue_finding(depth: int, oldest: datetime | None, *, now: datetime) -> Finding:
    limit = settings.READYZ_MAX_TASK_AGE_SECONDS
    age = (now - oldest).total_seconds() if oldest else 0.0
    detail = f"{depth} queued; oldest waiting {age:.0f} s (limit {limit} s)"
    return ("task_queue", age <= limit, detail)


def task_queue_depth_and_oldest(*, now: datetime) -> tuple[int, datetime | None]:
    """Tasks due to run and not yet taken, over every queue, and when the oldest of them was enqueued."""
    if settings.TASKS["default"]["BACKEND"] == RQ_BACKEND:
        return _rq_depth_and_oldest()
    if settings.TASKS["default"]["BACKEND"] == IMMEDIATE_BACKEND:
        return 0, None  # tasks run as they are enqueued
    return _database_depth_and_oldest(now=now)


def _database_depth_and_oldest(*, now: datetime) -> tuple[int, datetime | None]:
    due = DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__lte=now)
    oldest = due.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    return due.count(), oldest


def _rq_depth_and_oldest() -> tuple[int, datetime | None]:
    depth, oldest = 0, None
    for name in QUEUES_IN_PRIORITY_ORDER:
        queue = django_rq.get_queue(name)
        depth += queue.count
        first = queue.get_job_ids(0, 1)
        job = queue.fetch_job(first[0]) if first else None
        enqueued = job.enqueued_at if job else None
        if enqueued is not None:
            enqueued = enqueued if enqueued.tzinfo else enqueued.replace(tzinfo=UTC)
            oldest = min(oldest, enqueued) if oldest else enqueued
    return depth, oldest


def task_queue_finding(*, now: datetime | None = None) -> Finding:
    now = now or timezone.now()
    try:
        depth, oldest = task_queue_depth_and_oldest(now=now)
    except Exception as exc:  # the queue's store (the database or Redis) is down
        logger.warning("readiness probe task_queue failed", exc_info=True)
        return ("task_queue", False, f"{type(exc).__name__}: {exc}")
    return _queue_finding(depth, oldest, now=now)


def readiness_findings() -> list[Finding]:
    """Every finding; an app's check that raises is reported as not ok under its own name."""
    findings = [database_finding(), cache_finding(), task_queue_finding()]
    for answer in hooks.readiness_checks.answers():
        try:
            findings.extend(answer())
        except Exception as exc:
            name = f"{answer.__module__}.{answer.__qualname__}"
            logger.warning("readiness check %s failed", name, exc_info=True)
            findings.append((name, False, f"{type(exc).__name__}: {exc}"))
    return findings
