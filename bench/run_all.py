"""Run the benchmarks and print a table (what, figure, goal, met?). `make bench` calls this.

Recreates the PostgreSQL database `sms_portal_bench` (BENCH_DATABASE_URL), starts the provider simulator
and, per benchmark, gunicorn or dispatch workers, all on 127.0.0.1; every process it started is stopped at
the end, also on error or Ctrl-C. Figures are printed, never asserted: the exit status is 0 when the run
completed, whether or not a goal was met (`--strict` exits 3 when one was missed). Loaded HTTP varies up to
2x between runs: compare the figures of one run with each other, not with another run's.
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
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bulk_upload  # noqa: E402
import common  # noqa: E402
import dispatch_rate  # noqa: E402
import http_accept  # noqa: E402

ACCEPT_GOAL_SHARE = 0.50
# The million-row part reads its own database (seeded once by bench/seed_million.py, then reused).
MILLION_DATABASE_URL = os.environ.get("BENCH_MILLION_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_scale")
MILLION_SCRIPTS = ("read_latency.py", "export_million.py")


def _interrupt(signum, frame):  # turn SIGTERM into the same clean stop as Ctrl-C
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["http", "dispatch", "bulk", "million"], help="run one benchmark")
    parser.add_argument(
        "--million",
        action="store_true",
        default=os.environ.get("MILLION", "") not in ("", "0"),
        help="also the reads and exports at a million messages (seeded once, ~15 min on a loaded 2-core machine)",
    )
    parser.add_argument("--seconds", type=int, default=15, help="duration of each HTTP scenario")
    parser.add_argument("--server-workers", type=int, default=http_accept.WORKERS, help="gunicorn processes (HTTP)")
    parser.add_argument("--server-threads", type=int, default=http_accept.THREADS, help="threads a gunicorn process")
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections kept busy")
    parser.add_argument("--messages", type=int, default=20_000, help="messages per dispatch run, 1,000-number provider")
    parser.add_argument("--single-messages", type=int, default=3_000, help="messages per run, 1-number provider")
    parser.add_argument("--workers", default="1,2,4", help="dispatch worker processes, a comma-separated list")
    parser.add_argument("--provider-batch", default="1000,1", help="numbers the provider takes a call: 1000, 1, both")
    parser.add_argument("--threads", type=int, default=dispatch_rate.DEFAULT_THREADS, help="calls at once, 1-number")
    parser.add_argument(
        "--orgs", type=int, default=8, help="organizations of the extra x1 scenario (1: no extra scenario)"
    )
    parser.add_argument("--bulk-rows", type=int, default=100_000, help="recipients of the CSV upload (bulk)")
    parser.add_argument(
        "--without-send",
        action="store_true",
        help="also x1 on a gunicorn that skips the send itself (what the request around it costs)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the dispatch workers (slower)")
    parser.add_argument("--strict", action="store_true", help="exit 3 when a goal is missed")
    args = parser.parse_args(argv)
    dispatch_workers = [int(part) for part in args.workers.split(",") if part.strip()]
    provider_batches = [int(part) for part in args.provider_batch.split(",") if part.strip()]
    if (
        not 1 <= args.seconds <= 120
        or not 1_000 <= args.messages <= 200_000
        or not 100 <= args.single_messages <= 50_000
        or not all(1 <= w <= 8 for w in dispatch_workers)
        or not set(provider_batches) <= {1, 1000}
        or not 1 <= args.threads <= 32
        or not 1 <= args.orgs <= 64
    ):
        parser.error(
            "keep it bounded: --seconds 1..120, --messages 1000..200000, --workers 1..8 each, "
            "--provider-batch 1000 and/or 1, --threads 1..32, --orgs 1..64"
        )

    signal.signal(signal.SIGTERM, _interrupt)
    log_dir = Path(tempfile.mkdtemp(prefix="sms-portal-bench-"))
    processes = common.Processes()
    rows: list[tuple[str, str, str, str]] = []
    started = time.monotonic()
    load_before = _load_average()
    try:
        common.postgres_ensure_running()
        if args.only == "million":
            rows += _million(log_dir)
            raise _Done
        common.database_recreate()
        common.django_setup()
        simulator = common.simulator_start(processes, log_dir)
        organizations = common.organizations_prepare(simulator_url=simulator.base_url, count=args.orgs)
        bench_org = organizations[0]
        common.log(f"logs in {log_dir}")

        if args.only in (None, "http"):
            results, skipped = http_accept.run(
                processes,
                log_dir,
                raw_keys=[o.raw_key for o in organizations],
                seconds=args.seconds,
                connections=args.connections,
                server_workers=args.server_workers,
                server_threads=args.server_threads,
                without_send=args.without_send,
            )
            bare = results[0]
            goal = bare.rows_per_second * ACCEPT_GOAL_SHARE
            rows.append(
                (
                    f"{bare.name} ({bare.load.tool}, {args.connections} conn, {bare.load.duration_s:.0f} s)",
                    f"{bare.rows_per_second:,.0f} req/s (p50 {bare.load.p50_ms:.0f} ms)",
                    "baseline",
                    "-",
                )
            )
            for scenario in results[1:]:
                rows.append(
                    (
                        f"{scenario.name} accepted",
                        f"{scenario.rows_per_second:,.0f} msg/s "
                        f"({scenario.load.requests / scenario.load.duration_s:,.0f} req/s, "
                        f"p50 {scenario.load.p50_ms:.0f} ms, non-2xx {scenario.load.non_2xx})",
                        f">= {goal:,.0f} msg/s (50% of bare)",
                        "yes" if scenario.rows_per_second >= goal and scenario.load.non_2xx == 0 else "NO",
                    )
                )

            if skipped:
                skipped_bare, skipped_x1 = skipped
                rows.append(
                    (
                        f"{skipped_x1.name} (diagnostic)",
                        f"{skipped_x1.rows_per_second:,.0f} req/s, "
                        f"{skipped_x1.rows_per_second / max(skipped_bare.rows_per_second, 1):.0%} of the bare "
                        f"endpoint's {skipped_bare.rows_per_second:,.0f} beside it",
                        "(reported)",
                        "-",
                    )
                )
            for scenario in [*results, *skipped]:
                app_ms, db_ms = scenario.cpu_ms_per_request()
                rows.append(
                    (
                        f"  CPU per request, {scenario.name}",
                        f"gunicorn {app_ms:.1f} ms, postgres {db_ms:.1f} ms",
                        "(reported)",
                        "-",
                    )
                )
            # What the rates would be if the server's CPU were all that limited them: the bare endpoint's CPU per
            # request over a scenario's CPU per accepted message. Other work on the machine moves the rates above
            # from run to run; it moves this much less (each process's own CPU is counted).
            bare_cpu = (bare.app_cpu_s + bare.db_cpu_s) / max(bare.load.requests, 1)
            for scenario in results[1:]:
                if scenario.rows and bare_cpu:
                    per_message = (scenario.app_cpu_s + scenario.db_cpu_s) / scenario.rows
                    rows.append(
                        (
                            f"  CPU ratio, {scenario.name}",
                            f"{bare_cpu / per_message:.0%} (bare {bare_cpu * 1000:.2f} ms a request, "
                            f"{per_message * 1000:.2f} ms a message)",
                            "(reported)",
                            "-",
                        )
                    )

        if args.only in (None, "dispatch"):
            results = dispatch_rate.growth(
                processes,
                log_dir,
                simulator=simulator,
                organization_id=bench_org.organization_id,
                worker_counts=dispatch_workers,
                provider_batches=provider_batches,
                messages=args.messages,
                single_messages=args.single_messages,
                threads=args.threads,
                profile_dir=log_dir if args.profile else None,
            )
            rows += dispatch_rate.growth_rows(results)
            rows.append(
                (
                    "dispatch worker peak RSS",
                    " / ".join(f"{max(r.peak_rss_mb):.0f} MB" for r in results),
                    "(reported)",
                    "-",
                )
            )
            enqueue_seconds = sum(r.enqueue_seconds for r in results)
            queued = sum(r.messages for r in results)
            rows.append(
                (
                    "queueing via message_send, 1,000 per call",
                    f"{queued / enqueue_seconds:,.0f} msg/s ({enqueue_seconds:.1f} s)",
                    "(reported)",
                    "-",
                )
            )
            if args.profile:
                common.log(f"profiles: {log_dir}/dispatch_worker_*.prof")
        if args.only in (None, "bulk"):
            rows += bulk_upload.run(organization_id=bench_org.organization_id, rows=args.bulk_rows)
        if args.million:
            processes.stop_all()
            rows += _million(log_dir)
    except _Done:
        pass
    except KeyboardInterrupt:
        common.log("interrupted")
        return 130
    finally:
        processes.stop_all()

    _print_table(rows)
    print(
        f"\n(total {time.monotonic() - started:.0f} s; {os.cpu_count()} cores; "
        f"load average before {load_before}, after {_load_average()}: "
        f"other work on the machine lowers every figure; logs in {log_dir})"
    )
    missed = any(row[3] == "NO" for row in rows)
    return 3 if args.strict and missed else 0


class _Done(Exception):
    """Nothing more to run (the million-row part alone)."""


def _million(log_dir: Path) -> list[tuple[str, str, str, str]]:
    """Seed the million-row database when it is missing, then run its benchmarks as child processes (their own
    database settings) and return their table rows."""
    env = dict(os.environ, BENCH_DATABASE_URL=MILLION_DATABASE_URL, PYTHONUNBUFFERED="1")
    bench_dir = Path(__file__).resolve().parent
    subprocess.run([str(common.PYTHON), str(bench_dir / "seed_million.py"), "--if-missing"], env=env, check=True)
    rows: list[tuple[str, str, str, str]] = []
    for script in MILLION_SCRIPTS:
        table = log_dir / f"{script}.json"
        subprocess.run([str(common.PYTHON), str(bench_dir / script), "--table-json", str(table)], env=env, check=True)
        rows += [tuple(row) for row in json.loads(table.read_text())]
    return rows


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("what", "figure", "goal", "met?")
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    sys.exit(main())
