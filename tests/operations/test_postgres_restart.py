"""PostgreSQL restarted under load: the site and the workers recover by themselves, nothing lost or doubled.

Everything runs as it does on a machine: a private PostgreSQL server (`initdb` in a temporary folder, never the
shared one), gunicorn (two processes of four threads, persistent connections with health checks), two
`manage.py task_worker` processes on the database task backend and `manage.py run_scheduler`, all pointed at it;
the provider simulator; two API clients (one per organization) sending one message per request. Mid-run the server
is restarted (`pg_ctl restart -m fast`), then stopped for a few seconds and started again, while the clients keep
sending and the workers keep dispatching.

Proves: no request hangs; a request the database could not serve answers 503 with the API's error shape; once the
database is back every request succeeds again, with the same gunicorn and worker processes (none restarted); every
message answered 2xx reached the provider exactly once (the simulator's own count per number) and was charged once;
a request that failed left no message, no charge and no hand-over behind. The last two tests check the 503 and the
worker's return without a server to stop, so they run on SQLite too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging.simulator.server import ProviderSimulator
from portal.api import DATABASE_RETRY_AFTER_SECONDS
from portal.management.commands import task_worker
from portal.queues import DATABASE_BACKEND, task_backends
from tests.operations.private_postgres import PrivatePostgres, free_port, postgres_bin_dir

BIN_DIR = postgres_bin_dir()

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "sms_portal_restart"
FUNDS = 100_000
REQUEST_TIMEOUT_SECONDS = 20  # a request still unanswered after this counts as hanging
LONGEST_ANSWER_SECONDS = 10
LOAD_SECONDS = 5  # of sending before, between and after the two outages
OUTAGE_SECONDS = 4  # the server stopped
RECOVERY_GRACE_SECONDS = 1  # after pg_ctl says the server is up, before every request must succeed again
DONE = {"sent", "delivered"}


@pytest.fixture
def private_postgres():
    server = PrivatePostgres(BIN_DIR)
    try:
        server.start()
        server.create_database(DATABASE)
        server.create_database(f"{DATABASE}_erasure_ledger")
        yield server
    finally:
        server.remove()


@pytest.fixture
def simulator():
    # IPROG takes one number a call, so the workers have calls in flight whenever the database goes away; no
    # receipt URL: messages stay `sent`. Room for every hand-over, so a duplicate would be seen.
    simulator = ProviderSimulator("127.0.0.1", 0, max_messages=50_000, seed=20261130).start()
    simulator.configure("iprog", latency_ms=40)
    yield simulator
    simulator.stop()


def portal_environment(server: PrivatePostgres) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": server.url(DATABASE),
        "ERASURE_LEDGER_URL": server.url(f"{DATABASE}_erasure_ledger"),
        "TASK_BACKEND": "database",
        "CACHE_URL": "locmemcache://restart",
        "API_RATE_LIMIT": "1000000/min",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "SMS_RETRY_BASE_SECONDS": "0",
        "SMS_RETRY_MAX_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


class Processes:
    """The site's long-running processes, each in a session of its own, with their output in log files."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env=self.env,
            stdout=(self.log_dir / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def assert_alive(self) -> None:
        dead = {name: process.returncode for name, process in self.processes.items() if process.poll() is not None}
        assert not dead, f"exited: {dead}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n" + path.read_text(errors="replace")[-4000:]
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 9)  # the test is over: nothing to finish cleanly
                process.wait(10)


@pytest.fixture
def site(private_postgres, tmp_path):
    """Migrated; gunicorn, two task workers and the scheduler not started yet (`Processes`)."""
    env = portal_environment(private_postgres)
    # The erasure ledger's database stays empty: sending never reads it (its readiness check only warns).
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    processes = Processes(tmp_path, env)
    yield processes
    processes.stop_all()  # before the server goes away


def portal_python(env: dict[str, str], call: str, timeout: float = 120) -> str:
    """Run `tests.operations.restart_site.<call>` in a portal process; its last line of output."""
    code = f"import django; django.setup(); from tests.operations import restart_site; restart_site.{call}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Answer:
    recipient: str  # as the client sent it (the 09 form)
    started: float
    took: float
    status: int | str  # the HTTP status, or what stood in for it ("timeout", "connection error")
    body: dict | str
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300


@dataclass
class ApiClient:
    """Sends one message per request to a number of its own (one range per client) until told to stop."""

    base_url: str
    organization: str
    key: str
    first_number: int
    answers: list[Answer] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.key}"
        number = self.first_number
        while not self.stopping.is_set():
            recipient = f"0917{number:07d}"
            number += 1
            started = time.monotonic()
            retry_after = None
            try:
                response = session.post(
                    f"{self.base_url}/api/v1/messages",
                    json={"to": [recipient], "body": "Restart check"},
                    timeout=(5, REQUEST_TIMEOUT_SECONDS),
                )
                status, retry_after = response.status_code, response.headers.get("Retry-After")
                try:
                    body = response.json()
                except ValueError:
                    body = response.text[:500]
            except requests.Timeout:
                status, body = "timeout", ""
            except requests.ConnectionError as error:
                status, body = "connection error", str(error)
            answer = Answer(recipient, started, time.monotonic() - started, status, body, retry_after)
            self.answers.append(answer)
            if not answer.succeeded:
                time.sleep(0.1)  # as a client backs off


def child_pids(pid: int) -> set[int]:
    """The direct children of `pid` (from /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.add(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return children


def wait_until(predicate, *, timeout: float, what: str, processes: Processes) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        processes.assert_alive()
        assert time.monotonic() < deadline, f"{what} within {timeout}s\n{processes.logs()}"
        time.sleep(0.1)


def gunicorn_up(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or still loading the application
        return False


@pytest.mark.postgres
@pytest.mark.skipif(
    BIN_DIR is None, reason="needs PostgreSQL's server programs (initdb, pg_ctl) to run a private server"
)
def test_postgres_restarted_under_load(private_postgres, site, simulator):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    gunicorn = site.start(
        "gunicorn",
        *("-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}"),
        *("--worker-class", "gthread", "--workers", "2", "--threads", "4", "--timeout", "30"),
    )
    for n in (1, 2):
        site.start(f"worker-{n}", "manage.py", "task_worker", "--interval", "0.2", "--name", f"restart-worker-{n}")
    site.start("scheduler", "manage.py", "run_scheduler")
    keys = json.loads(portal_python(site.env, f"site_build({simulator.base_url!r}, {FUNDS})"))  # while they start
    wait_until(lambda: gunicorn_up(base_url), timeout=90, what="gunicorn did not answer", processes=site)
    wait_until(lambda: len(child_pids(gunicorn.pid)) == 2, timeout=30, what="no 2 gunicorn workers", processes=site)
    web_workers = child_pids(gunicorn.pid)

    clients = [
        ApiClient(base_url, "alpha", keys["alpha"], first_number=0),
        ApiClient(base_url, "bravo", keys["bravo"], first_number=5_000_000),
    ]
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(simulator.sent) >= 20, timeout=60, what="nothing reached the provider", processes=site)
        time.sleep(LOAD_SECONDS)

        private_postgres.restart()
        restarted_at = time.monotonic()
        time.sleep(LOAD_SECONDS)

        stopped_at = time.monotonic()
        private_postgres.stop()
        down_from = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        down_until = time.monotonic()
        private_postgres.start()
        up_at, back_at_unix_time = time.monotonic(), time.time()
        time.sleep(LOAD_SECONDS)
    finally:
        for client in clients:
            client.stopping.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT_SECONDS + 10)

    answers = [answer for client in clients for answer in client.answers]
    accepted = [answer for answer in answers if answer.succeeded]
    refused = [answer for answer in answers if not answer.succeeded]
    # The workers drain the queue: every accepted message reaches the provider.
    wait_until(
        lambda: len(simulator.sent) >= len(accepted), timeout=40, what="not every message was sent", processes=site
    )
    site.assert_alive()
    state = json.loads(portal_python(site.env, f"site_state(wait_seconds=20, database_back_at={back_at_unix_time})"))

    # --- the site: no hang; a clean 503 while the database is away; 2xx again once it is back, same processes ---
    assert not [a for a in answers if a.took > LONGEST_ANSWER_SECONDS], "a request hung"
    assert all(
        a.status == 503 and a.body["error"]["code"] == "database_unavailable" and a.retry_after for a in refused
    ), Counter(f"{a.status} {str(a.body)[:200]}" for a in refused)
    during_outage = [a for a in answers if a.started >= down_from + 0.5 and a.started + a.took <= down_until]
    assert during_outage and not [a for a in during_outage if a.succeeded], "the outage was not seen by the clients"
    for back_at, until in ((restarted_at, stopped_at), (up_at, float("inf"))):
        # Served between the database's return and the next stop (a request still running then meets the stop).
        after = [a for a in answers if back_at + RECOVERY_GRACE_SECONDS <= a.started and a.started + a.took < until]
        assert len(after) >= 10 and all(a.succeeded for a in after), Counter(str(a.status) for a in after)
    assert child_pids(gunicorn.pid) == web_workers, "a gunicorn worker was restarted"

    # --- the messages: each accepted one sent once and charged once; a refused request left nothing behind ---
    messages = {message["recipient"]: message for message in state["messages"]}
    accepted_numbers = {f"+63{a.recipient[1:]}" for a in accepted}
    refused_numbers = {f"+63{a.recipient[1:]}" for a in refused}
    assert set(messages) == accepted_numbers and len(state["messages"]) == len(accepted)
    for client in clients:  # each charged to the organization whose key sent it
        assert {messages[f"+63{a.recipient[1:]}"]["organization"] for a in client.answers if a.succeeded} == {
            client.organization
        }
    assert {a.body["results"][0]["id"] for a in accepted} == {m["id"] for m in state["messages"]}
    not_right = [
        m
        for m in state["messages"]
        if m["status"] not in DONE or (m["accepted_attempts"], m["charges"], m["refunds"]) != (1, 1, 0)
    ]
    assert not not_right, not_right[:10]
    handed_over = Counter(message["recipient"] for message in simulator.sent)
    assert set(handed_over) == accepted_numbers and set(handed_over.values()) == {1}
    assert not refused_numbers & set(handed_over)
    assert state["unsettled_attempts"] == 0
    assert state["billing_audit"] == "clean"
    # A task the database went away under is recorded as failed, not left running (tasks started since may be).
    assert state["running_since_the_outage"] == [], state["tasks"]


# --- the same two answers without a server to stop (these run on SQLite too) ---


@pytest.mark.django_db
def test_a_request_the_database_cannot_serve_answers_503_in_the_error_shape(api_client_a, monkeypatch):
    def database_gone(**kwargs):
        raise OperationalError("connection failed: FATAL:  the database system is shutting down")

    monkeypatch.setattr("messaging.api.message_send", database_gone)
    response = api_client_a.post("/api/v1/messages", {"to": ["09171234567"], "body": "Hello"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert response.json()["error"]["code"] == "database_unavailable"


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_serves_again_once_the_database_answers(settings, monkeypatch):
    settings.TASKS = task_backends(DATABASE_BACKEND)

    def running(worker_id: str) -> DBTaskResult:
        return DBTaskResult.objects.create(
            status=TaskResultStatus.RUNNING,
            worker_ids=[worker_id],
            args_kwargs={"args": [], "kwargs": {}},
            task_path="messaging.tasks.dispatch_queued",
            queue_name="send",
            backend_name="default",
            run_after=timezone.now(),
        )

    interrupted, other_workers = running("restart-worker"), running("another-worker")
    served: list[str] = []

    def db_worker(name: str, **options) -> None:
        served.append(options["worker_id"])
        if len(served) == 1:  # db_worker's poll, or the result of the task it was running, met the restart
            raise OperationalError("connection failed: Connection refused")

    monkeypatch.setattr(task_worker, "call_command", db_worker)
    monkeypatch.setattr(task_worker, "DATABASE_RETRY_WAITS", (0,))
    call_command("task_worker", name="restart-worker")

    assert served == ["restart-worker", "restart-worker"]  # the same process served again, under its name
    interrupted.refresh_from_db()
    assert interrupted.status == TaskResultStatus.FAILED
    assert interrupted.exception_class_path == "django.db.utils.OperationalError"
    other_workers.refresh_from_db()
    assert other_workers.status == TaskResultStatus.RUNNING  # another worker's task is its own business
