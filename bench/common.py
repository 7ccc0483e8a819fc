"""What both benchmarks share: the throwaway PostgreSQL database, child processes that always stop, the
provider simulator, and the benchmark organizations (owner, API key, credits, provider chain).

Every child process is started through `Processes`, whose `stop_all()` runs in a `finally` (and at exit): it
sends SIGTERM to each process group it started, then SIGKILL after a grace period; only 127.0.0.1.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)
SETTINGS = "portal.settings.bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sms_portal_bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
# Databases the benchmarks may drop and recreate (the million-row seed lives in sms_scale).
BENCH_DATABASE_PREFIXES = ("sms_portal_bench", "sms_scale")
# Valid Globe/Smart prefixes the simulator accepts (it refuses 63900...).
RECIPIENT_PREFIXES = ("+63917", "+63918", "+63927", "+63920")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": SETTINGS, "BENCH_DATABASE_URL": DATABASE_URL, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%SZ', time.gmtime())}] {text}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recipients(count: int, *, start: int = 0) -> list[str]:
    """`count` distinct valid Philippine mobile numbers (E.164)."""
    numbers = []
    for index in range(start, start + count):
        prefix = RECIPIENT_PREFIXES[index % len(RECIPIENT_PREFIXES)]
        numbers.append(f"{prefix}{index // len(RECIPIENT_PREFIXES) % 10_000_000:07d}")
    return numbers


class Processes:
    """Child processes started in their own process group, all stopped by `stop_all()` (idempotent)."""

    def __init__(self) -> None:
        self._children: list[tuple[str, subprocess.Popen]] = []
        atexit.register(self.stop_all)

    def start(self, name: str, args: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(args, cwd=ROOT, start_new_session=True, **kwargs)
        self._children.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, *, grace: float = 10.0) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self._children = [(n, p) for n, p in self._children if p is not process]

    def stop_all(self) -> None:
        for _, process in list(self._children):
            self.stop(process)


def wait_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
                response.read()
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError as error:
            last_error = error
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s: {last_error}")


def http_json(url: str, payload: dict | None = None, *, method: str | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        url, data=data, method=method or ("POST" if data is not None else "GET")
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read() or b"{}")


# --- PostgreSQL ---


def _psql(sql: str, *, database: str = "postgres") -> subprocess.CompletedProcess:
    from urllib.parse import urlsplit

    url = urlsplit(DATABASE_URL)
    args = [
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        "-q",
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 5432),
    ]
    args += ["-U", url.username or "postgres", "-d", database, "-c", sql]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


def database_name() -> str:
    from urllib.parse import urlsplit

    return urlsplit(DATABASE_URL).path.lstrip("/")


def postgres_ensure_running() -> None:
    if _psql("SELECT 1").returncode == 0:
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise RuntimeError("PostgreSQL is not reachable and no local cluster was found in /etc/postgresql")
    log(f"starting PostgreSQL {versions[-1]}")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=True, timeout=120
    )
    for _ in range(50):
        if _psql("SELECT 1").returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("PostgreSQL did not come up")


def database_recreate() -> None:
    """Drop and create the benchmark database, migrate it, and create the bare endpoint's table."""
    name = database_name()
    if not name.startswith(BENCH_DATABASE_PREFIXES):
        raise RuntimeError(
            f"refusing to drop {name!r}: a benchmark database name starts with {' or '.join(BENCH_DATABASE_PREFIXES)}"
        )
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        result = _psql(sql)
        if result.returncode != 0:
            raise RuntimeError(f"{sql}: {result.stderr.strip()}")
    log(f"migrating {name}")
    subprocess.run([str(PYTHON), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=child_env(), check=True)
    result = _psql(
        "CREATE TABLE IF NOT EXISTS bench_bare "
        "(id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
        database=name,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


def django_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["BENCH_DATABASE_URL"] = DATABASE_URL
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- The provider simulator ---


@dataclass
class Simulator:
    process: subprocess.Popen
    base_url: str

    def configure(self, **values) -> None:
        http_json(f"{self.base_url}/_sim/config", {"all": values})

    def reset(self) -> None:
        http_json(f"{self.base_url}/_sim/reset", {"config": False})

    def stats(self) -> dict:
        return http_json(f"{self.base_url}/_sim/stats")


def simulator_start(processes: Processes, log_dir: Path) -> Simulator:
    port = free_port()
    out = open(log_dir / "simulator.log", "w")  # noqa: SIM115 - closed with the process at exit
    process = processes.start(
        "simulator",
        [str(PYTHON), "manage.py", "run_provider_simulator", "--host", "127.0.0.1", "--port", str(port)],
        env=child_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_http(f"{base_url}/_sim/health", process=process)
    simulator = Simulator(process=process, base_url=base_url)
    simulator.configure(latency_ms=0, error_rate=0.0, callback_url="")
    return simulator


# --- The benchmark organization ---


@dataclass
class BenchOrganization:
    organization_id: int
    raw_key: str


def organizations_prepare(
    *, simulator_url: str, count: int = 1, credits: Decimal = Decimal("100000000")
) -> list[BenchOrganization]:
    """`count` organizations, each with an owner, an API key and plenty of credits, and the demo provider
    chain pointing at the simulator with a quota that never runs out. Through the real services (call after
    `django_setup()`). The first one ("bench-org") is the one the figures are about; others spread load."""
    from accounts.models import User
    from accounts.services import api_key_create, organization_create
    from billing.services import credits_adjust
    from messaging.models import Provider
    from messaging.services.providers import provider_seed_demo_chain

    prepared = []
    for index in range(count):
        suffix = "" if index == 0 else f"-{index + 1}"
        owner = User.objects.create_user(email=f"bench-owner{suffix}@bench.invalid", password=None)
        organization = organization_create(name=f"Bench Org{suffix}", owner=owner, slug=f"bench-org{suffix}")
        _, raw_key = api_key_create(organization=organization, actor=owner, name="bench")
        credits_adjust(organization=organization, actor=None, amount=credits, reason="benchmark credits", via="bench")
        prepared.append(BenchOrganization(organization_id=organization.pk, raw_key=raw_key))
    provider_seed_demo_chain(simulator_url=simulator_url)
    Provider.objects.update(monthly_quota=100_000_000)
    return prepared


def queued_messages_park() -> int:
    """Take queued messages left by an earlier benchmark out of the dispatch queue (raw SQL on the throwaway
    database), so each benchmark measures only its own messages."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE messaging_message SET status = 'cancelled', status_changed_at = now() WHERE status = 'queued'"
        )
        return cursor.rowcount
