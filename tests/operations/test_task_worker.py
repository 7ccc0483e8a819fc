"""`manage.py task_worker`: one command for every backend; every queue unless told otherwise."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.queues import DATABASE_BACKEND, QUEUES_IN_PRIORITY_ORDER, TaskQueue, task_backends
from tests.operations import probe_tasks


@pytest.fixture
def runs():
    probe_tasks.RUNS.clear()
    yield probe_tasks.RUNS
    probe_tasks.RUNS.clear()


@pytest.fixture
def database_backend(settings):
    settings.TASKS = task_backends(DATABASE_BACKEND)
    return settings


@pytest.mark.django_db(transaction=True)
def test_on_the_database_backend_it_serves_every_queue(database_backend, runs):
    for queue in QUEUES_IN_PRIORITY_ORDER:
        probe_tasks.probe_minutely.using(queue_name=queue).enqueue()
    call_command("task_worker", burst=True, interval=0)
    assert runs == ["minutely"] * len(QUEUES_IN_PRIORITY_ORDER)


@pytest.mark.django_db(transaction=True)
def test_a_worker_for_one_queue_leaves_the_others(database_backend, runs):
    probe_tasks.probe_minutely.using(queue_name=TaskQueue.OTP).enqueue()
    probe_tasks.probe_hourly.using(queue_name=TaskQueue.MAINTENANCE).enqueue()
    call_command("task_worker", "--queue", "otp", burst=True, interval=0)
    assert runs == ["minutely"]
    call_command("task_worker", "--queue", "maintenance", burst=True, interval=0)
    assert runs == ["minutely", "hourly"]


def test_the_immediate_backend_has_no_worker():
    # The test settings run tasks where they are enqueued.
    with pytest.raises(CommandError, match="has no worker"):
        call_command("task_worker", burst=True)
