"""The IPROG crash path with a real worker process: `manage.py task_worker` (database task backend) runs the dispatch
task this test's send enqueued, is SIGKILLed while the simulator holds IPROG's answer, and a restarted worker runs
the reconcile job, which marks the attempt for staff; staff resolve it in admin. Nothing is resent on its own.

PostgreSQL only: the worker is another process, so it sees only committed data (`transaction=True`) and is pointed
at pytest's test database through DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.sending import message_send
from messaging.tasks import dispatch_queued, reconcile_in_flight
from portal.queues import DATABASE_BACKEND, task_backends
from tests.conftest import make_user
from tests.messaging.conftest import wait_until
from tests.messaging.fixtures_engine import *  # noqa: F403 (fixtures)
from tests.messaging.fixtures_engine import charges, make_chain, refunds

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

IN_FLIGHT_TIMEOUT_SECONDS = 2
CHANGELIST = "/admin/messaging/dispatchattempt/"


def test_database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Worker:
    """One `manage.py task_worker` process on every queue, polling the database backend."""

    def __init__(self, log: Path) -> None:
        self.log = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "DEBUG": "False",
            "DATABASE_URL": test_database_url(),
            "TASK_BACKEND": "database",
            "CACHE_URL": "locmemcache://worker",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "SMS_IN_FLIGHT_TIMEOUT_SECONDS": str(IN_FLIGHT_TIMEOUT_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "task_worker", "--interval", "0.1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker's whole process group: no clean-up of any kind."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path):
    workers: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(tmp_path / f"{name}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()  # before the test database is flushed: no connection may stay open


@pytest.fixture
def database_tasks(settings):
    """This process enqueues on the database backend too (after each send commits), as the web servers do."""
    settings.TASKS = task_backends(DATABASE_BACKEND)
    return settings


@pytest.mark.parametrize(
    ("provider_behaviour", "action", "expected_status", "at_provider"),
    [
        ({"latency_ms": 4000}, "resolve_mark_sent", MessageStatus.SENT, 1),
        ({"error_mode": "timeout", "hang_seconds": 4}, "resolve_fail", MessageStatus.FAILED, 0),
    ],
    ids=["provider-got-it-mark-sent", "provider-never-got-it-fail-and-refund"],
)
def test_worker_killed_during_an_iprog_call_is_settled_by_staff_and_never_resent(
    provider_simulator,
    fast_retries,
    database_tasks,
    funded_org_a,
    start_worker,
    client,
    provider_behaviour,
    action,
    expected_status,
    at_provider,
):
    primary, _ = make_chain(provider_simulator, primary_timeout=30)  # the real IPROG adapter: cannot be asked
    provider_simulator.configure("iprog", **provider_behaviour)
    worker = start_worker("worker")

    [message] = message_send(organization=funded_org_a, recipients=["09175550001"], body="Shipped", channel="api")
    # The dispatch task runs in the worker; the IPROG call reaches the simulator, which holds its answer.
    wait_until(lambda: provider_simulator.stats()["iprog"].get("requests"), timeout=30)
    worker.kill()
    killed_at = time.monotonic()
    [attempt] = DispatchAttempt.objects.filter(message=message)
    assert (attempt.status, attempt.provider_id) == (AttemptStatus.IN_FLIGHT, primary.pk)
    assert Message.objects.unscoped().get(pk=message.pk).status == MessageStatus.SENDING
    # The provider finishes its side without the worker: it accepts (latency) or gives up on its hang.
    wait_until(
        lambda: provider_simulator.sent if at_provider else provider_simulator.stats()["iprog"].get("forced_timeout"),
        timeout=10,
    )
    provider_simulator.configure("iprog", latency_ms=0, error_mode="")

    # systemd restarts the worker; run_scheduler enqueues the reconcile job once the attempt is overdue.
    restarted = start_worker("worker-restarted")
    time.sleep(max(0.0, IN_FLIGHT_TIMEOUT_SECONDS + 0.5 - (time.monotonic() - killed_at)))
    reconcile_in_flight.enqueue()
    wait_until(lambda: DispatchAttempt.objects.get(pk=attempt.pk).status != AttemptStatus.IN_FLIGHT, timeout=30)
    attempt.refresh_from_db()
    message.refresh_from_db()
    assert attempt.status == AttemptStatus.UNKNOWN, restarted.output()
    assert (message.status, message.error_code) == (MessageStatus.SENDING, "dispatch_outcome_unknown")
    wait_until(lambda: "need a send decision" in restarted.output(), timeout=10)  # staff were alerted

    # The restarted worker runs dispatch again: the message is not resent on its own.
    wait_until(lambda: DispatchAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.UNKNOWN)
    dispatch_queued.enqueue()
    time.sleep(1.0)
    assert len(provider_simulator.sent) == at_provider
    assert DispatchAttempt.objects.filter(message=message).count() == 1

    staff = make_user("ops@portal.example", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        f"{CHANGELIST}?status__exact={AttemptStatus.UNKNOWN}",
        {"action": action, "_selected_action": [attempt.pk], "index": 0},
    )
    assert response.status_code == 302

    message.refresh_from_db()
    assert message.status == expected_status
    assert len(charges(funded_org_a)) == 1
    assert len(refunds(funded_org_a)) == (1 if expected_status == MessageStatus.FAILED else 0)
    dispatch_queued.enqueue()
    time.sleep(1.0)
    assert len(provider_simulator.sent) == at_provider
    assert Message.objects.unscoped().get(pk=message.pk).status == expected_status
    assert "Traceback" not in worker.output() + restarted.output()
