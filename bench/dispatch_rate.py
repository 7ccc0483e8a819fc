"""Benchmark 2: how fast the engine hands queued messages to the provider simulator (latency 0).

For each provider shape and each number of worker processes: N messages are queued through the real
`messaging.services.sending.message_send` (1,000 recipients per call, each call charged and committed like an API
request), then W worker processes (dispatch_worker.py) call `dispatch_queued_messages()` until nothing is left.
The figure is N / wall time from the moment the workers are told to start (Django is already set up in them)
until the last one finishes; the database must then show all N messages `sent` and the simulator must have
accepted N. Each worker reports its peak RSS, and each run the CPU per message of the workers, their PostgreSQL
backends and the simulator (what a change bought, when other work on the machine moves the rates).

Provider shapes (`--provider-batch`): 1000 = the only enabled route is Semaphore, whose API takes 1,000 numbers a
call; 1 = the only enabled route is IPROG without its bulk endpoint (bench/dispatch_adapters.py), one number a
call, `--threads` calls at once per worker.

Standalone (recreates its own database, starts the simulator, prints the growth table):

    .venv/bin/python bench/dispatch_rate.py --workers 1,2,4 --provider-batch 1000,1
    .venv/bin/python bench/dispatch_rate.py --workers 2 --provider-batch 1000 --messages 20000 --profile

`bench/run_all.py --only dispatch` runs the same through `run()` / `growth()`. Django is set up only once the
benchmark database exists, so its modules are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PYTHON, Processes, Simulator, child_env, log, queued_messages_park, recipients  # noqa: E402
from dispatch_worker import cpu_seconds_of  # noqa: E402

CHUNK = 1000
DEFAULT_THREADS = 8
DISPATCH_GOAL_PER_SECOND = {1000: 5_000, 1: 300}  # by numbers per provider call
# The project's adapters and the benchmark's one-number IPROG (bench/dispatch_adapters.py, on the workers' path).
ADAPTERS = (
    "messaging.providers.iprog.adapter.IprogAdapter,messaging.providers.semaphore.adapter.SemaphoreAdapter,"
    "dispatch_adapters.SingleNumberIprogAdapter"
)
BENCH_ROUTE_NAME = "bench route"


@dataclass
class DispatchResult:
    messages: int
    workers: int
    provider_batch: int
    threads: int
    enqueue_seconds: float
    dispatch_seconds: float
    sent: int
    simulator_accepted: int
    simulator_requests: int
    peak_rss_mb: list[float]
    worker_results: list[dict] = field(default_factory=list)
    simulator_cpu_s: float = 0.0

    def cpu_us_per_message(self) -> tuple[float, float, float]:
        """CPU microseconds per message sent: the workers, their PostgreSQL backends, the simulator."""
        if not self.sent:
            return 0.0, 0.0, 0.0
        worker = sum(r.get("cpu_s", 0.0) for r in self.worker_results)
        database = sum(r.get("db_cpu_s", 0.0) for r in self.worker_results)
        return tuple(seconds * 1e6 / self.sent for seconds in (worker, database, self.simulator_cpu_s))

    @property
    def enqueue_rate(self) -> float:
        return self.messages / self.enqueue_seconds if self.enqueue_seconds else 0.0

    @property
    def dispatch_rate(self) -> float:
        return self.sent / self.dispatch_seconds if self.dispatch_seconds else 0.0

    @property
    def complete(self) -> bool:
        return self.sent == self.messages and self.simulator_accepted >= self.messages

    @property
    def goal(self) -> int:
        return DISPATCH_GOAL_PER_SECOND.get(self.provider_batch, 0)

    @property
    def met(self) -> bool:
        return self.complete and self.dispatch_rate >= self.goal

    def as_dict(self) -> dict:
        worker, database, simulator = self.cpu_us_per_message()
        return {
            **asdict(self),
            "dispatch_rate": self.dispatch_rate,
            "enqueue_rate": self.enqueue_rate,
            "cpu_us_per_message": {"worker": worker, "database": database, "simulator": simulator},
        }


def worker_env() -> dict[str, str]:
    """The environment of every process that loads Django here: the benchmark's adapters registered."""
    return child_env(SMS_PROVIDER_ADAPTERS=ADAPTERS)


def route_prepare(*, provider_batch: int, simulator_url: str) -> None:
    """One enabled route on the simulator, of the shape asked for; every other route switched off."""
    from messaging.models import Provider

    adapter, credentials = ("semaphore", '{"apikey": "bench"}') if provider_batch > 1 else ("iprog_single", None)
    Provider.objects.exclude(name=BENCH_ROUTE_NAME).update(enabled=False)
    Provider.objects.update_or_create(
        name=BENCH_ROUTE_NAME,
        defaults={
            "adapter": adapter,
            "base_url": simulator_url,
            "credentials": credentials or '{"api_token": "bench"}',
            "sender_name": "BENCH",
            "priority": 1,
            "enabled": True,
            "monthly_quota": 100_000_000,
            "timeout_seconds": 30,
        },
    )


def enqueue(*, organization_id: int, count: int, offset: int = 0) -> float:
    """Queue `count` messages through message_send, 1,000 per call; returns the seconds it took."""
    from accounts.models import APIKey, Organization
    from messaging.models import MessageChannel
    from messaging.services.sending import message_send

    organization = Organization.objects.get(pk=organization_id)
    api_key = APIKey.objects.filter(organization=organization).first()
    started = time.monotonic()
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        message_send(
            organization=organization,
            api_key=api_key,
            recipients=recipients(size, start=offset + start),
            body="Bench dispatch message",
            channel=MessageChannel.API,
        )
    return time.monotonic() - started


def _status_count(status: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_message WHERE status = %s", [status])
        return cursor.fetchone()[0]


def run(
    processes: Processes,
    log_dir: Path,
    *,
    simulator: Simulator,
    organization_id: int,
    messages: int = 20_000,
    workers: int = 2,
    provider_batch: int = 1000,
    threads: int = DEFAULT_THREADS,
    claim_batch: int = 0,
    time_cap: float = 300.0,
    profile_dir: Path | None = None,
    offset: int = 0,
) -> DispatchResult:
    """One measured dispatch: `messages` queued, `workers` processes until the queue is empty."""
    parked = queued_messages_park()
    if parked:
        log(f"took {parked} queued messages of the earlier benchmark out of the queue")
    route_prepare(provider_batch=provider_batch, simulator_url=simulator.base_url)
    simulator.configure(latency_ms=0, error_rate=0.0, callback_url="")
    simulator.reset()
    sent_before = _status_count("sent")
    log(f"queueing {messages:,} messages through message_send ({CHUNK} per call)")
    enqueue_seconds = enqueue(organization_id=organization_id, count=messages, offset=offset)
    log(f"queued in {enqueue_seconds:.1f} s ({messages / enqueue_seconds:,.0f} messages/s)")

    children = []
    for index in range(workers):
        env = worker_env()
        if profile_dir is not None:
            env["BENCH_PROFILE"] = str(profile_dir / f"dispatch_worker_{provider_batch}_{workers}_{index}.prof")
        children.append(
            processes.start(
                f"dispatch-worker-{index}",
                [
                    str(PYTHON),
                    str(Path(__file__).with_name("dispatch_worker.py")),
                    str(time_cap),
                    f"--threads={threads}",
                    f"--claim-batch={claim_batch}",
                ],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=open(log_dir / f"dispatch_worker_{index}.log", "a"),  # noqa: SIM115
                text=True,
            )
        )
    try:
        for child in children:
            line = child.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"dispatch worker did not start: {line!r}; see {log_dir}")
        started = time.monotonic()
        simulator_cpu_before = cpu_seconds_of(simulator.process.pid)
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            output = child.stdout.read()
            child.wait(timeout=time_cap + 60)
            match = next((line for line in output.splitlines() if line.startswith("RESULT ")), None)
            if match is None:
                raise RuntimeError(f"dispatch worker failed (exit {child.returncode}); see {log_dir}")
            results.append(json.loads(match.removeprefix("RESULT ")))
        dispatch_seconds = time.monotonic() - started
        simulator_cpu_s = cpu_seconds_of(simulator.process.pid) - simulator_cpu_before
    finally:
        for child in children:
            processes.stop(child)
    sent = _status_count("sent") - sent_before
    stats = simulator.stats()
    apis = [api for api in stats.values() if isinstance(api, dict)]
    result = DispatchResult(
        messages=messages,
        workers=workers,
        provider_batch=provider_batch,
        threads=threads if provider_batch == 1 else 1,
        enqueue_seconds=enqueue_seconds,
        dispatch_seconds=dispatch_seconds,
        sent=sent,
        simulator_accepted=sum(api.get("accepted", 0) for api in apis),
        simulator_requests=sum(api.get("requests", 0) for api in apis),
        peak_rss_mb=[r["peak_rss_mb"] for r in results],
        worker_results=results,
        simulator_cpu_s=simulator_cpu_s,
    )
    log(
        f"dispatched {sent:,} of {messages:,} in {dispatch_seconds:.2f} s with {workers} worker(s), "
        f"{provider_batch} number(s) a call: {result.dispatch_rate:,.0f} messages/s; "
        f"{result.simulator_requests:,} provider calls; peak RSS per worker "
        f"{', '.join(f'{mb:.0f} MB' for mb in result.peak_rss_mb)}; CPU per message: "
        + "worker {:.0f} us, its PostgreSQL backend {:.0f} us, simulator {:.0f} us".format(*result.cpu_us_per_message())
    )
    return result


def growth(
    processes: Processes,
    log_dir: Path,
    *,
    simulator: Simulator,
    organization_id: int,
    worker_counts: list[int],
    provider_batches: list[int],
    messages: int,
    single_messages: int,
    threads: int = DEFAULT_THREADS,
    claim_batch: int = 0,
    profile_dir: Path | None = None,
) -> list[DispatchResult]:
    """Every provider shape with every number of workers, one after another in this run."""
    results = []
    offset = 0
    for provider_batch in provider_batches:
        count = messages if provider_batch > 1 else single_messages
        for workers in worker_counts:
            results.append(
                run(
                    processes,
                    log_dir,
                    simulator=simulator,
                    organization_id=organization_id,
                    messages=count,
                    workers=workers,
                    provider_batch=provider_batch,
                    threads=threads,
                    claim_batch=claim_batch,
                    profile_dir=profile_dir,
                    offset=offset,
                )
            )
            offset += count
    return results


def growth_rows(results: list[DispatchResult]) -> list[tuple[str, str, str, str]]:
    """(what, figure, goal, met?) rows, with the growth over the fewest workers of the same shape."""
    rows = []
    base: dict[int, float] = {}
    for result in results:
        base.setdefault(result.provider_batch, result.dispatch_rate)
        shape = (
            f"{result.provider_batch:,} numbers a call"
            if result.provider_batch > 1
            else f"1 number a call, {result.threads} threads"
        )
        growth_factor = result.dispatch_rate / base[result.provider_batch] if base[result.provider_batch] else 0
        rows.append(
            (
                f"dispatch, {shape}, {result.workers} worker(s), {result.messages:,} msgs",
                f"{result.dispatch_rate:,.0f} msg/s (x{growth_factor:.2f}; {result.simulator_requests:,} calls, "
                f"{result.dispatch_seconds:.1f} s; CPU us/msg "
                + "{:.0f}+{:.0f}+{:.0f})".format(*result.cpu_us_per_message()),
                f">= {result.goal:,} msg/s, all sent",
                "yes" if result.met else "NO",
            )
        )
    return rows


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("what", "figure", "goal", "met?")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="worker processes, a comma-separated list (default 1,2,4)")
    parser.add_argument(
        "--provider-batch", default="1000,1", help="numbers the provider takes a call: 1000, 1 or both (default)"
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages per run, 1,000-number provider")
    parser.add_argument("--single-messages", type=int, default=3_000, help="messages per run, 1-number provider")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="calls at once per worker (1-number)")
    parser.add_argument("--claim-batch", type=int, default=0, help="messages claimed per round (0: the engine's own)")
    parser.add_argument("--profile", action="store_true", help="cProfile the workers (slower)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    worker_counts, provider_batches = _numbers(args.workers), _numbers(args.provider_batch)
    if (
        not all(1 <= w <= 8 for w in worker_counts)
        or not set(provider_batches) <= {1, 1000}
        or not 1_000 <= args.messages <= 200_000
        or not 100 <= args.single_messages <= 50_000
        or not 1 <= args.threads <= 32
    ):
        parser.error("keep it bounded: workers 1..8, provider batch 1 or 1000, messages 1000..200000, threads 1..32")

    signal.signal(signal.SIGTERM, _interrupt)
    os.environ["SMS_PROVIDER_ADAPTERS"] = ADAPTERS
    log_dir = Path(tempfile.mkdtemp(prefix="sms-portal-bench-dispatch-"))
    processes = Processes()
    load_before = _load_average()
    try:
        common.postgres_ensure_running()
        common.database_recreate()
        common.django_setup()
        simulator = common.simulator_start(processes, log_dir)
        [organization] = common.organizations_prepare(simulator_url=simulator.base_url, count=1)
        log(f"logs in {log_dir}")
        results = growth(
            processes,
            log_dir,
            simulator=simulator,
            organization_id=organization.organization_id,
            worker_counts=worker_counts,
            provider_batches=provider_batches,
            messages=args.messages,
            single_messages=args.single_messages,
            threads=args.threads,
            claim_batch=args.claim_batch,
            profile_dir=log_dir if args.profile else None,
        )
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        processes.stop_all()
    print_table(growth_rows(results))
    print(
        f"\n({os.cpu_count()} cores; load average before {load_before}, after {_load_average()}: other work on the "
        f"machine lowers every figure; logs in {log_dir})"
    )
    if args.json:
        args.json.write_text(json.dumps([result.as_dict() for result in results], indent=1))
    return 0


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
