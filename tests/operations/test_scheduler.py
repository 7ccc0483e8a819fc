"""Periodic jobs run once per due time, however many schedulers tick (one per machine, or two by mistake)."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils.module_loading import import_string
from django_tasks.base import Task

from portal.models import PeriodicRun
from portal.scheduler import (
    PERIODIC_RUNS_KEPT_FOR,
    PeriodicJob,
    Scheduler,
    due_time,
    periodic_runs_prune,
    schedule_collect,
)
from tests.operations import probe_tasks

PROBES = [
    PeriodicJob(path="tests.operations.probe_tasks.probe_minutely", seconds=60),
    PeriodicJob(path="tests.operations.probe_tasks.probe_hourly", seconds=3600),
    PeriodicJob(path="tests.operations.probe_tasks.probe_daily", seconds=86400),
]
NOON = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def runs():
    probe_tasks.RUNS.clear()
    yield probe_tasks.RUNS
    probe_tasks.RUNS.clear()


def test_due_times_are_aligned_to_the_epoch_so_every_scheduler_agrees():
    assert due_time(seconds=60, now=NOON + timedelta(seconds=59)) == NOON
    assert due_time(seconds=60, now=NOON + timedelta(seconds=60)) == NOON + timedelta(minutes=1)
    assert due_time(seconds=15, now=NOON + timedelta(seconds=44)) == NOON + timedelta(seconds=30)
    assert due_time(seconds=86400, now=NOON) == datetime(2026, 11, 25, tzinfo=UTC)


def test_two_schedulers_ticking_the_same_due_time_enqueue_once(db, runs):
    first, second = Scheduler(PROBES, name="web-1:100"), Scheduler(PROBES, name="web-2:200")

    first_result = first.tick(NOON + timedelta(seconds=1))
    second_result = second.tick(NOON + timedelta(seconds=2))

    assert sorted(first_result.enqueued) == sorted(job.path for job in PROBES)
    assert second_result.enqueued == [] and sorted(second_result.taken) == sorted(job.path for job in PROBES)
    assert Counter(runs) == {"minutely": 1, "hourly": 1, "daily": 1}
    assert set(PeriodicRun.objects.values_list("scheduler", flat=True)) == {"web-1:100"}

    # Later ticks in the same interval do nothing; the next minute runs the minutely job once more, on either.
    for scheduler in (first, second, first):
        scheduler.tick(NOON + timedelta(seconds=30))
    second.tick(NOON + timedelta(seconds=61))
    first.tick(NOON + timedelta(seconds=62))
    assert Counter(runs) == {"minutely": 2, "hourly": 1, "daily": 1}


def test_a_restarted_scheduler_does_not_repeat_the_job_of_the_current_interval(db, runs):
    Scheduler(PROBES).tick(NOON + timedelta(minutes=5))
    Scheduler(PROBES).tick(NOON + timedelta(minutes=5, seconds=30))  # the same machine, restarted
    assert Counter(runs) == {"minutely": 1, "hourly": 1, "daily": 1}


class Unreachable:
    def enqueue(self):
        raise ConnectionError("Redis is down")


def test_an_enqueue_that_fails_leaves_no_claim_and_is_tried_again(db, runs):
    scheduler = Scheduler(PROBES[:1])
    working = scheduler.tasks[PROBES[0].path]
    scheduler.tasks[PROBES[0].path] = Unreachable()

    result = scheduler.tick(NOON)
    assert result.failed == {PROBES[0].path: "Redis is down"}
    assert not PeriodicRun.objects.exists()

    scheduler.tasks[PROBES[0].path] = working
    assert scheduler.tick(NOON + timedelta(seconds=1)).enqueued == [PROBES[0].path]
    assert runs == ["minutely"]


def test_old_claims_are_pruned(db):
    Scheduler(PROBES).tick(NOON)
    PeriodicRun.objects.update(enqueued_at=NOON)
    assert periodic_runs_prune(now=NOON + PERIODIC_RUNS_KEPT_FOR - timedelta(seconds=1)) == 0
    assert periodic_runs_prune(now=NOON + PERIODIC_RUNS_KEPT_FOR + timedelta(seconds=1)) == 3
    assert not PeriodicRun.objects.exists()


def test_the_project_schedule_lists_each_task_once_and_each_is_a_task():
    schedule = schedule_collect()
    paths = [job.path for job in schedule]
    assert len(paths) == len(set(paths))
    assert "messaging.tasks.dispatch_queued" in paths and "messaging.tasks.reconcile_in_flight" in paths
    for job in schedule:
        assert isinstance(import_string(job.path), Task), job.path
        assert job.seconds > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_schedulers_on_postgresql_enqueue_each_due_time_once(runs):
    ticks = [NOON + timedelta(minutes=minute) for minute in range(20)]
    barrier = threading.Barrier(3)
    errors = []

    def scheduler_thread(name):
        scheduler = Scheduler(PROBES, name=name)
        try:
            for now in ticks:
                barrier.wait(timeout=30)
                scheduler.tick(now)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler_thread, args=(f"machine-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Counter(runs) == {"minutely": 20, "hourly": 1, "daily": 1}
    assert PeriodicRun.objects.count() == 22
