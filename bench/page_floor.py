"""What every signed-in page costs: CPU and SQL of a near-empty page (the webhook settings), the log and the dashboard.

Against the database `bench/seed_million.py` made (BENCH_DATABASE_URL, default sms_scale; never seeded or changed
here: a missing seed is an error), signed in as the million organization's owner through Django's test client, in
this process. Printed per page: p50/p95 of wall time and of this process's CPU time (ms) over `--requests`
requests, and the SQL statements of one request. `--sql` prints those statements; `--profile N` prints the N
largest items of a cProfile of the requests (cumulative time).

Run: `.venv/bin/python bench/page_floor.py [--requests 200] [--sql] [--profile 40]`. To compare two versions of
the code in one run, copy this file into the other checkout's `bench/` and alternate (docs/PERFORMANCE.md, "Reads
at a million messages").
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_scale")

from bench import common  # noqa: E402

PAGES = (("webhook settings", "messaging:webhook"), ("log page 1", "messaging:log"), ("dashboard", "dashboard"))


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def signed_in_client():
    from django.test import Client

    from accounts.active_organization import ACTIVE_ORGANIZATION_SESSION_KEY
    from accounts.models import Membership, Organization
    from bench.seed_million import MAIN_SLUG

    organization = Organization.objects.get(slug=MAIN_SLUG)
    client = Client()
    owner = Membership.objects.filter(organization=organization).select_related("user").first().user
    client.force_login(owner)
    session = client.session
    session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
    session.save()
    return client


def measure(client, url: str, *, requests: int, show_sql: bool, profile: cProfile.Profile | None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries = [q["sql"] for q in captured.captured_queries]
    if show_sql:
        for sql in queries:
            print(f"    {sql[:220]}")
    wall, cpu = [], []
    for _ in range(requests):
        started, cpu_started = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        client.get(url)
        if profile:
            profile.disable()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return {
        "wall_p50": statistics.median(wall),
        "wall_p95": _p95(wall),
        "cpu_p50": statistics.median(cpu),
        "cpu_p95": _p95(cpu),
        "queries": len(queries),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sql", action="store_true", help="print the SQL of one request of each page")
    parser.add_argument("--profile", type=int, default=0, help="print this many items of a cProfile (cumulative)")
    parser.add_argument("--only", help="one page: webhook, log or dashboard")
    args = parser.parse_args(argv)
    common.django_setup()
    from django.conf import settings
    from django.urls import reverse

    from bench import seed_million

    if not seed_million.seeded(messages=1_000):
        raise SystemExit(f"{common.database_name()} holds no seed (bench/seed_million.py makes one)")
    settings.DEBUG = False
    client = signed_in_client()
    common.log(f"load average {common.load_average()}")
    print(f"{'page':<20} {'wall p50/p95':>14} {'cpu p50/p95':>14} {'SQL':>4}")
    for name, url_name in PAGES:
        if args.only and args.only not in url_name:
            continue
        profile = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
        m = measure(client, reverse(url_name), requests=args.requests, show_sql=args.sql, profile=profile)
        print(
            f"{name:<20} {m['wall_p50']:6.2f}/{m['wall_p95']:<7.2f} {m['cpu_p50']:6.2f}/{m['cpu_p95']:<7.2f} "
            f"{m['queries']:>4}",
            flush=True,
        )
        if profile:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.profile)
            print(out.getvalue())
    common.log(f"load average at the end {common.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
