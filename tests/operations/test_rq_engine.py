"""The RQ engine end to end: real Redis, real PostgreSQL, two real worker processes (`manage.py task_worker`),
the provider simulator, 10,000 messages through `message_send`.

Proves, with the workers healthy and again after one is killed with SIGKILL in the middle of a batch: every
message reaches the provider exactly once (the simulator's own count, no number twice), none is lost (all sent),
none is charged twice (one ledger charge per message, `billing_audit` clean).

The workers are subprocesses, so they see only committed data (`transaction=True`) and are pointed at pytest's
test database through DATABASE_URL. Redis database 13 is this module's alone: flushed before and after.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from django_rq import get_queue
from rq import Worker
from rq.registry import FailedJobRegistry

from billing.models import LedgerEntry, LedgerEntryKind
from billing.services import credits_adjust
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from messaging.services.sending import message_send
from messaging.simulator.server import ProviderSimulator
from messaging.tasks import reconcile_in_flight
from portal.queues import QUEUES_IN_PRIORITY_ORDER, RQ_BACKEND, rq_queues, task_backends
from tests.messaging.fixtures_engine import make_chain, numbers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/13"
MESSAGES = 10_000
PER_SEND = 1_000
DONE = [MessageStatus.SENT, MessageStatus.DELIVERED]
# Far above the time a live worker takes from claim to record (about a second here, loaded), so recovery never
# touches a batch that is still being worked on.
IN_FLIGHT_TIMEOUT_SECONDS = 8


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"needs Redis on 127.0.0.1:6379 ({error}); start redis-server (.ci/run does)")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def rq_backend(settings, redis_db):
    """This process enqueues through RQ too (after each send commits), as the web servers would."""
    settings.TASKS = task_backends(RQ_BACKEND)
    settings.RQ_QUEUES = rq_queues(REDIS_URL)
    return settings


class HoldingSimulator(ProviderSimulator):
    """The provider simulator, able to hold its answer to one Semaphore send after accepting the messages."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holding = threading.Event()
        self.release = threading.Event()
        self._armed = threading.Lock()
        self._armed.acquire()

    def hold_next_send(self) -> None:
        self._armed.release()

    def handle(self, method: str, path: str, params: dict):
        answer = super().handle(method, path, params)
        if method == "POST" and path == "/api/v4/messages" and self._armed.acquire(blocking=False):
            self.holding.set()
            self.release.wait(30)
        return answer


@pytest.fixture
def simulator():
    # No receipt URL: messages stay `sent`. Room for every hand-over, so a duplicate would be seen.
    simulator = HoldingSimulator("127.0.0.1", 0, max_messages=5 * MESSAGES, seed=20261130).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def funded_org(org_a):
    credits_adjust(organization=org_a, actor=None, amount=Decimal(2 * MESSAGES), reason="operations test funds")
    return org_a


def database_url(alias: str = "default") -> str:
    """pytest-django's test database for `alias` (test_<name>), where this test's data is committed."""
    db = connections[alias].settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_database_environment() -> dict[str, str]:
    """The environment that points a worker at the test databases (the erasure ledger has its own, if configured)."""
    environment = {"DATABASE_URL": database_url()}
    if "erasure_ledger" in connections.settings:
        environment["ERASURE_LEDGER_URL"] = database_url("erasure_ledger")
    return environment


class Workers:
    """`manage.py task_worker` processes on every queue, as a machine's systemd unit starts them."""

    def __init__(self, log_dir: Path, **environment: str) -> None:
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "DEBUG": "False",
            **worker_database_environment(),
            "TASK_BACKEND": "rq",
            "REDIS_URL": REDIS_URL,
            "CACHE_URL": "locmemcache://workers",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "SMS_RETRY_BASE_SECONDS": "0",
            "SMS_RETRY_MAX_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
            **environment,
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed: set[str] = set()

    def start(self, name: str) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "task_worker", "--name", name],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_registered(self, client: redis.Redis, names: set[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            if names <= {worker.name for worker in Worker.all(connection=client)}:
                return
            time.sleep(0.1)
        raise AssertionError(f"workers {sorted(names)} did not register with Redis\n{self.logs()}")

    def alive(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is None]

    def assert_alive(self) -> None:
        """Fail with the logs if a worker this test did not kill has stopped."""
        dead = [n for n, process in self.processes.items() if n not in self.killed and process.poll() is not None]
        assert not dead, f"worker(s) {dead} exited\n{self.logs()}"

    def owner_of(self, pids: set[int]) -> str:
        """The worker one of `pids` belongs to (RQ runs each job in a forked child of the worker)."""
        for name in self.alive():
            root = self.processes[name].pid
            if pids & {root, *_children(root)}:
                return name
        raise AssertionError(f"no worker owns any of {sorted(pids)}")

    def kill(self, name: str) -> None:
        """SIGKILL, as a machine losing power would: the job's process and the worker, no clean-up of any kind."""
        self.killed.add(name)
        root = self.processes[name].pid
        for pid in [*_children(root), root]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.processes[name].wait(10)

    def stop_all(self) -> None:
        for name in self.alive():
            self.kill(name)  # nothing to finish cleanly: the test is over

    def task_failed(self) -> bool:
        """A task raised: RQ logs its traceback (jobs that succeed log nothing at the workers' log level)."""
        return any("Traceback" in path.read_text(errors="replace") for path in self.log_dir.glob("*.log"))

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n" + path.read_text(errors="replace")[-3000:]
            for path in sorted(self.log_dir.glob("*.log"))
        )


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc, no extra package)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


@pytest.fixture
def workers(tmp_path, request):
    started: list[Workers] = []

    def start(count: int, client: redis.Redis, **environment: str) -> Workers:
        group = Workers(tmp_path, **environment)
        started.append(group)
        for n in range(1, count + 1):
            group.start(f"ops-worker-{n}")
        group.wait_registered(client, {f"ops-worker-{n}" for n in range(1, count + 1)})
        return group

    yield start
    for group in started:
        group.stop_all()  # before the test database is flushed: no connection may stay open


def send(organization, *, first: int = 0, last: int = MESSAGES) -> list[int]:
    """Messages number `first` to `last` (exclusive), PER_SEND per call, each call committed and enqueued."""
    ids: list[int] = []
    for start in range(first, last, PER_SEND):
        messages = message_send(
            organization=organization, recipients=numbers(PER_SEND, start=start), body="Operations check", channel="api"
        )
        ids += [message.pk for message in messages]
    return ids


def wait_until_all_sent(organization, group: Workers, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        group.assert_alive()
        if not Message.objects.unscoped().filter(organization=organization).exclude(status__in=DONE).exists():
            return
        assert not group.task_failed(), f"a task failed in a worker\n{group.logs()}"
        time.sleep(0.25)
    left = Counter(
        Message.objects.unscoped()
        .filter(organization=organization)
        .exclude(status__in=DONE)
        .values_list("status", flat=True)
    )
    raise AssertionError(f"not all messages sent within {timeout}s: {dict(left)}\n{group.logs()}")


def assert_each_sent_once_and_charged_once(organization, simulator: ProviderSimulator, message_ids: list[int]):
    stats = simulator.stats()
    assert sum(api["accepted"] for api in stats.values() if "accepted" in api) == MESSAGES
    handed_over = Counter(message["recipient"] for message in simulator.messages())
    assert len(handed_over) == MESSAGES and set(handed_over.values()) == {1}
    assert set(handed_over) == {f"+63{number[1:]}" for number in numbers(MESSAGES)}

    statuses = Counter(Message.objects.unscoped().filter(organization=organization).values_list("status", flat=True))
    assert sum(statuses.values()) == MESSAGES and set(statuses) <= set(DONE)
    accepted = list(DispatchAttempt.objects.filter(status=AttemptStatus.ACCEPTED).values_list("message_id", flat=True))
    assert len(accepted) == len(set(accepted)) == MESSAGES
    assert not DispatchAttempt.objects.filter(status__in=[AttemptStatus.IN_FLIGHT, AttemptStatus.UNKNOWN]).exists()

    charged = list(
        LedgerEntry.objects.unscoped()
        .filter(organization=organization, kind=LedgerEntryKind.CHARGE)
        .values_list("message_id", flat=True)
    )
    assert len(charged) == MESSAGES and set(charged) == set(message_ids)
    assert not LedgerEntry.objects.unscoped().filter(organization=organization, kind=LedgerEntryKind.REFUND).exists()
    call_command("billing_audit")  # raises CommandError on any difference


def test_two_rq_workers_send_10000_messages_exactly_once(rq_backend, redis_db, simulator, funded_org, workers):
    primary, fallback = make_chain(simulator, primary_quota=4_000)  # the fallback takes over mid-run
    group = workers(2, redis_db)

    message_ids = send(funded_org)
    wait_until_all_sent(funded_org, group, timeout=90)

    assert_each_sent_once_and_charged_once(funded_org, simulator, message_ids)
    assert Message.objects.unscoped().filter(provider=primary).count() == 4_000
    assert Message.objects.unscoped().filter(provider=fallback).count() == MESSAGES - 4_000
    # Every job ran through django-tasks-rq's job class: none failed (TypeError / missing task_result before).
    for name in QUEUES_IN_PRIORITY_ORDER:
        assert FailedJobRegistry(queue=get_queue(name)).count == 0, name
    assert not group.task_failed()


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(rq_backend, redis_db, simulator, funded_org, workers):
    # All to Semaphore (the primary has no quota): it lists what it accepted, so crash recovery can ask it.
    make_chain(simulator, primary_quota=0)
    group = workers(
        2,
        redis_db,
        SMS_DISPATCH_BATCH_SIZE="250",
        SMS_IN_FLIGHT_TIMEOUT_SECONDS=str(IN_FLIGHT_TIMEOUT_SECONDS),
    )
    # The first thousand: recovery asks the provider's list about each orphan, a page per thousand listed messages.
    message_ids = send(funded_org, last=PER_SEND)
    wait_until(
        lambda: Message.objects.unscoped().filter(organization=funded_org, status__in=DONE).count() >= PER_SEND // 4
    )

    # The provider accepts the next batch but its answer is held: the worker waits for it, and is killed. (A claim
    # fills one 1,000-number Semaphore call, so the next batch comes from the next thousand messages.)
    simulator.hold_next_send()
    message_ids += send(funded_org, first=PER_SEND, last=2 * PER_SEND)
    assert simulator.holding.wait(30), "no batch reached the provider"
    victim = group.owner_of(_pids_connected_to(simulator.port))
    killed_at = timezone.now()
    group.kill(victim)
    simulator.release.set()
    orphaned = list(
        DispatchAttempt.objects.filter(status=AttemptStatus.IN_FLIGHT, started_at__lte=killed_at).values_list(
            "id", flat=True
        )
    )
    assert orphaned, "the killed worker left no attempt in flight"
    group.start("ops-worker-restarted")  # as systemd restarts a worker that died

    # run_scheduler enqueues the recovery job every minute; the test does it once the attempts are overdue.
    time.sleep(max(0.0, IN_FLIGHT_TIMEOUT_SECONDS - (timezone.now() - killed_at).total_seconds()) + 0.5)
    reconcile_in_flight.enqueue()
    wait_until(lambda: not DispatchAttempt.objects.filter(id__in=orphaned, status=AttemptStatus.IN_FLIGHT).exists())

    message_ids += send(funded_org, first=2 * PER_SEND)  # the restarted worker and the survivor take the rest
    wait_until_all_sent(funded_org, group, timeout=90)

    assert_each_sent_once_and_charged_once(funded_org, simulator, message_ids)
    # The provider had them: recovery recorded them as sent instead of sending them again.
    assert set(DispatchAttempt.objects.filter(id__in=orphaned).values_list("status", flat=True)) == {
        AttemptStatus.ACCEPTED
    }


def wait_until(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _pids_connected_to(port: int) -> set[int]:
    """Processes with an open TCP connection to 127.0.0.1:`port` (from /proc, no extra package)."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port, state, inode = int(fields[2].rsplit(":", 1)[1], 16), fields[3], fields[9]
            if remote_port == port and state == "01":  # ESTABLISHED
                sockets.add(f"socket:[{inode}]")
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(fd) in sockets:
                pids.add(int(fd.parts[2]))
    return pids
