"""Benchmark 1: messages accepted per second through `POST /api/v1/messages` vs a bare DRF INSERT endpoint.

One gunicorn (gthread, 4 workers x 2 threads, DEBUG off, PostgreSQL) serves both endpoints in the same run;
the load generator (wrk with a Lua POST script, or a threaded Python client when wrk cannot be had) keeps a
fixed number of keep-alive connections busy for a fixed duration per scenario:

- `bare`: `POST /bench/bare`, one row INSERTed per request (portal/bench_urls.py): the floor;
- `api x1`: `POST /api/v1/messages` with one recipient per request;
- `api x100`: the same with 100 recipients per request;
- `api x1, N orgs` (when more keys are given): x1 with the keys of N organizations in turn, which shows what
  the per-organization serialization of charges (the CreditAccount row lock) costs.

"Accepted" is counted in the database (rows that committed during the scenario), not from the client's view,
and reported per second of the scenario's measured duration. A short warm-up precedes each scenario.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import PYTHON, ROOT, Processes, child_env, database_name, free_port, log, recipients, wait_http

WORKERS = 4
THREADS = 2
WITHOUT_SEND_CONFIG = Path(__file__).resolve().parent / "gunicorn_without_send.py"


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    tool: str


@dataclass
class ScenarioResult:
    name: str
    load: LoadResult
    rows: int  # rows committed during the scenario (messages, or bench_bare rows)
    app_cpu_s: float = 0.0  # CPU seconds the gunicorn processes used during the scenario
    db_cpu_s: float = 0.0  # CPU seconds the PostgreSQL backends of the benchmark's database used

    def cpu_ms_per_request(self) -> tuple[float, float]:
        if not self.load.requests:
            return 0.0, 0.0
        return self.app_cpu_s * 1000 / self.load.requests, self.db_cpu_s * 1000 / self.load.requests

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.load.duration_s if self.load.duration_s else 0.0


# --- load generators ---


def wrk_path() -> str | None:
    """wrk, installed with apt-get if missing (None when that is not possible)."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt:
        log("wrk not found; installing it with apt-get")
        try:
            subprocess.run([apt, "install", "-y", "-qq", "wrk"], capture_output=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            log(f"apt-get install wrk failed: {error}")
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    level = 1
    while f"]{'=' * level}]" in value:
        level += 1
    return f"[{'=' * level}[{value}]{'=' * level}]"


WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(
    wrk: str,
    *,
    url: str,
    body: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    threads: int,
    keys: list[str] | None = None,
) -> LoadResult:
    """`keys`: Authorization bearer keys used in turn, one per request (spreads load over organizations)."""
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    if keys:
        lines.append("local keys = {" + ", ".join(_lua_string(f"Bearer {key}") for key in keys) + "}")
        lines.append("local turn = math.random(#keys)")
        lines.append(
            "request = function()\n"
            "  turn = turn % #keys + 1\n"
            '  wrk.headers["Authorization"] = keys[turn]\n'
            "  return wrk.format()\n"
            "end"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n" + WRK_DONE)
    try:
        result = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    match = re.search(r"BENCH_JSON (\{.*\})", result.stdout)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}")
    data = json.loads(match.group(1))
    return LoadResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        non_2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        tool="wrk",
    )


def run_python_load(
    *,
    url: str,
    body: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    keys: list[str] | None = None,
) -> LoadResult:
    """Fallback: one thread per connection, each with its own keep-alive requests.Session."""
    import itertools

    import requests

    key_turns = itertools.cycle(keys) if keys else None

    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"requests": 0, "non2xx": 0, "errors": 0}
    start = time.monotonic()
    deadline = start + seconds

    def client() -> None:
        local_latencies, local = [], {"requests": 0, "non2xx": 0, "errors": 0}
        with requests.Session() as session:
            while time.monotonic() < deadline:
                sent = time.monotonic()
                try:
                    request_headers = headers
                    if key_turns is not None:
                        request_headers = {**headers, "Authorization": f"Bearer {next(key_turns)}"}
                    response = session.post(url, data=body.encode(), headers=request_headers, timeout=10)
                except requests.RequestException:
                    local["errors"] += 1
                    continue
                local_latencies.append(time.monotonic() - sent)
                local["requests"] += 1
                if not 200 <= response.status_code < 400:
                    local["non2xx"] += 1
        with lock:
            latencies.extend(local_latencies)
            for key, value in local.items():
                counts[key] += value

    workers = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 30)
    duration = time.monotonic() - start
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return LoadResult(
        requests=counts["requests"],
        duration_s=duration,
        non_2xx=counts["non2xx"],
        socket_errors=counts["errors"],
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        tool="python-threads",
    )


# --- CPU accounting (Linux /proc) ---

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu_seconds(pid: int) -> tuple[str, int, float]:
    """(command name, parent pid, user+system CPU seconds) of one process."""
    with open(f"/proc/{pid}/stat") as stat:
        raw = stat.read()
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def cpu_snapshot(server_pid: int, database: str) -> dict[int, tuple[str, float]]:
    """{pid: (kind, CPU seconds so far)} of the gunicorn master and its workers ("app") and of the PostgreSQL
    backends connected to the benchmark's database ("db"). Other databases' backends (other work on the machine)
    are left out, and a difference of two snapshots is taken per process, so a process that exits in between does
    not subtract its whole life from the figure."""
    found: dict[int, tuple[str, float]] = {}
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            name, parent, seconds = _process_cpu_seconds(pid)
            if pid == server_pid or parent == server_pid:
                found[pid] = ("app", seconds)
            elif name == "postgres":
                # A backend's title: "postgres: 15/main: <user> <database> <client> <state>".
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    title = cmdline.read().decode(errors="replace").split()
                if database in title:
                    found[pid] = ("db", seconds)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> tuple[float, float]:
    """(app, db) CPU seconds between two snapshots: each process's own difference (a new one counts from zero)."""
    used = {"app": 0.0, "db": 0.0}
    for pid, (kind, seconds) in after.items():
        earlier = before.get(pid)
        used[kind] += seconds - (earlier[1] if earlier is not None and earlier[0] == kind else 0.0)
    return used["app"], used["db"]


# --- the server ---


def gunicorn_start(
    processes: Processes,
    log_dir: Path,
    *,
    workers: int = WORKERS,
    threads: int = THREADS,
    config: Path | None = None,
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    args = [str(gunicorn)] if gunicorn.exists() else [str(PYTHON), "-m", "gunicorn"]
    args += [
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--timeout",
        "60",
        "--error-logfile",
        str(log_dir / "gunicorn.log"),
    ]
    if config is not None:
        args += ["--config", str(config)]
    process = processes.start("gunicorn", args, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    wait_http(f"{base_url}/bench/bare", process=process, timeout=60)
    return process, base_url


def _count(sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def run(
    processes: Processes,
    log_dir: Path,
    *,
    raw_keys: list[str],
    seconds: int = 15,
    warmup_seconds: int = 3,
    connections: int = 16,
    server_workers: int = WORKERS,
    server_threads: int = THREADS,
    without_send: bool = False,
) -> tuple[list[ScenarioResult], list[ScenarioResult]]:
    """The bare, x1 and x100 scenarios with the first key (one organization); with more keys, one more x1
    scenario that uses every key in turn (shows what one organization's serialized charges cost).

    `without_send`: then, on a gunicorn whose send endpoint skips the send itself (bench/gunicorn_without_send.py),
    the bare endpoint again and x1: what the request around the send costs. Its rows are the answered requests.
    Returns (the scenarios, those two: empty without `without_send`)."""
    raw_key = raw_keys[0]
    wrk = wrk_path()
    if wrk is None:
        log("wrk is not available: using the threaded Python load generator (it competes for the 2 cores)")
    shape = {"workers": server_workers, "threads": server_threads}
    load = {"wrk": wrk, "seconds": seconds, "warmup_seconds": warmup_seconds, "connections": connections}
    server, base_url = gunicorn_start(processes, log_dir, **shape)
    log(
        f"gunicorn gthread {server_workers}x{server_threads} on {base_url}; "
        f"load: {wrk or 'python threads'}, {connections} connections"
    )
    api_headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
    x1_body = json.dumps({"to": recipients(1)[0], "body": "Bench message"})
    scenarios = [
        _bare_scenario(base_url),
        (
            "POST /api/v1/messages x1",
            f"{base_url}/api/v1/messages",
            x1_body,
            api_headers,
            "SELECT count(*) FROM messaging_message",
            None,
        ),
        (
            "POST /api/v1/messages x100",
            f"{base_url}/api/v1/messages",
            json.dumps({"to": recipients(100), "body": "Bench message"}),
            api_headers,
            "SELECT count(*) FROM messaging_message",
            None,
        ),
    ]
    if len(raw_keys) > 1:
        scenarios.append(
            (
                f"POST /api/v1/messages x1, {len(raw_keys)} orgs",
                f"{base_url}/api/v1/messages",
                x1_body,
                api_headers,
                "SELECT count(*) FROM messaging_message",
                raw_keys,
            )
        )
    try:
        results = [_scenario_run(scenario, server=server, log_dir=log_dir, **load) for scenario in scenarios]
    finally:
        processes.stop(server)
    if not without_send:
        return results, []
    server, base_url = gunicorn_start(processes, log_dir, config=WITHOUT_SEND_CONFIG, **shape)
    log(f"gunicorn with the send skipped ({WITHOUT_SEND_CONFIG.name}) on {base_url}")
    skipped = [
        _bare_scenario(base_url, name="bare INSERT endpoint, beside the send skipped"),
        (
            "POST /api/v1/messages x1, send skipped",
            f"{base_url}/api/v1/messages",
            x1_body,
            api_headers,
            None,
            None,
        ),
    ]
    try:
        return results, [_scenario_run(scenario, server=server, log_dir=log_dir, **load) for scenario in skipped]
    finally:
        processes.stop(server)


def _bare_scenario(base_url: str, *, name: str = "bare INSERT endpoint") -> tuple:
    return (
        name,
        f"{base_url}/bench/bare",
        json.dumps({"body": "Bench message"}),
        {"Content-Type": "application/json"},
        "SELECT count(*) FROM bench_bare",
        None,
    )


def _scenario_run(
    scenario: tuple,
    *,
    server: subprocess.Popen,
    log_dir: Path,
    wrk: str | None,
    seconds: int,
    warmup_seconds: int,
    connections: int,
) -> ScenarioResult:
    """One scenario: warm-up, then `seconds` of load; rows counted by `count_sql`, or (None) the 2xx answers."""
    name, url, body, headers, count_sql, keys = scenario

    def load(duration: int) -> LoadResult:
        if wrk:
            return run_wrk(
                wrk,
                url=url,
                body=body,
                headers=headers,
                seconds=duration,
                connections=connections,
                threads=2,
                keys=keys,
            )
        return run_python_load(
            url=url, body=body, headers=headers, seconds=duration, connections=connections, keys=keys
        )

    warm = load(warmup_seconds)
    if warm.requests == 0 or warm.non_2xx == warm.requests:
        raise RuntimeError(f"{name}: warm-up got no successful answer ({warm}); see {log_dir}/gunicorn.log")
    time.sleep(1)  # let the warm-up's last requests commit
    before = _count(count_sql) if count_sql else 0
    cpu_before = cpu_snapshot(server.pid, database_name())
    result = load(seconds)
    app_cpu, db_cpu = cpu_used(cpu_before, cpu_snapshot(server.pid, database_name()))
    time.sleep(1)
    rows = _count(count_sql) - before if count_sql else result.requests - result.non_2xx
    scenario_result = ScenarioResult(name=name, load=result, rows=rows, app_cpu_s=app_cpu, db_cpu_s=db_cpu)
    app_ms, db_ms = scenario_result.cpu_ms_per_request()
    log(
        f"{name}: {result.requests / result.duration_s:,.0f} req/s, "
        f"{scenario_result.rows_per_second:,.0f} rows/s, "
        f"non-2xx {result.non_2xx}, socket errors {result.socket_errors}, "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms; CPU per request: "
        f"gunicorn {app_ms:.1f} ms, postgres {db_ms:.1f} ms"
    )
    return scenario_result
