"""Profile `POST /api/v1/messages` in one process (for finding hotspots; not part of `make bench`).

Run after `bench/run_all.py` (it needs the benchmark database and its organization):
    .venv/bin/python bench/profile_send.py [--requests 300] [--recipients 1]
Sends the requests through Django's test client (the whole middleware + DRF stack, no HTTP server), prints the
SQL statements of one request and the top functions by cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import django_setup, recipients  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--recipients", type=int, default=1)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Organization
    from accounts.services import api_key_create

    organization = Organization.objects.get(slug="bench-org")
    _, raw_key = api_key_create(organization=organization, actor=None, name=f"profile {time.time():.0f}")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    payload = json.dumps({"to": recipients(args.recipients), "body": "Bench message"})

    def send():
        response = client.post("/api/v1/messages", payload, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"unexpected {response.status_code}: {response.content[:500]!r}")

    for _ in range(20):  # warm caches and connections
        send()
    with CaptureQueriesContext(connection) as queries:
        send()
    print(f"--- {len(queries.captured_queries)} SQL statements in one request ---")
    for query in queries.captured_queries:
        print(f"{float(query['time']) * 1000:7.2f} ms  {query['sql'][:160]}")

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(args.requests):
        send()
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(
        f"\n--- {args.requests} requests x {args.recipients} recipient(s) in {elapsed:.2f} s under cProfile: "
        f"{elapsed / args.requests * 1000:.1f} ms per request ---"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
