"""One dispatch worker process for benchmark 2 (started by dispatch_rate.py, not by hand).

    dispatch_worker.py TIME_CAP [--threads N] [--claim-batch N]

Sets Django up, opens its database connection, prints `READY`, waits for a line on stdin, then calls
`messaging.dispatch.worker.dispatch_queued_messages()` until a call claims nothing (or the time cap passes), and
prints one `RESULT {json}` line: what it dispatched, how long it took, its peak RSS (ru_maxrss), and the CPU
seconds it and its PostgreSQL backend used from "go" to the end (getrusage; /proc/<backend pid>/stat): CPU per
message says where the time goes even when other work on the machine moves the wall-clock rates. `--threads`
sets SMS_DISPATCH_CALL_THREADS (calls at once to a one-number provider); `--claim-batch` (when not 0) is the
`batch_size` of every call, instead of the engine's own sizing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import django_setup  # noqa: E402


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds a process used so far (Linux /proc; 0 when it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("time_cap", type=float, nargs="?", default=300.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--claim-batch", type=int, default=0)
    args = parser.parse_args()
    profile_path = os.environ.get("BENCH_PROFILE")
    django_setup()
    # Django is set up only now, so its modules are imported here.
    from django.conf import settings
    from django.db import connection

    from messaging.dispatch.worker import dispatch_queued_messages

    if args.threads:
        settings.SMS_DISPATCH_CALL_THREADS = args.threads
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [backend_pid] = cursor.fetchone()
    rss_ready_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("READY", flush=True)
    sys.stdin.readline()

    profiler = None
    if profile_path:
        import cProfile  # only when profiling

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.monotonic()
    cpu_before, db_cpu_before = own_cpu_seconds(), cpu_seconds_of(backend_pid)
    totals = {"calls": 0, "rounds": 0, "claimed": 0, "accepted": 0, "requeued": 0, "rejected": 0, "failed": 0}
    while time.monotonic() - started < args.time_cap:
        summary = dispatch_queued_messages(batch_size=args.claim_batch or None)
        totals["calls"] += 1
        for name in ("rounds", "claimed", "accepted", "requeued", "rejected", "failed"):
            totals[name] += getattr(summary, name)
        if summary.claimed == 0:
            break
    elapsed = time.monotonic() - started
    cpu_s, db_cpu_s = own_cpu_seconds() - cpu_before, cpu_seconds_of(backend_pid) - db_cpu_before
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        **totals,
        "elapsed_s": elapsed,
        "cpu_s": cpu_s,
        "db_cpu_s": db_cpu_s,
        "peak_rss_mb": peak_kb / 1024,
        "ready_rss_mb": rss_ready_kb / 1024,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
