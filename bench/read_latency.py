"""Reads at a million messages: the message list endpoint, the log page and the dashboard, p95 per filter.

Runs against the database `bench/seed_million.py` made (BENCH_DATABASE_URL, default sms_scale; seeded first when
it is missing, with `--messages` in the main organization). Each scenario is requested `--requests` times (after a
warm-up) through Django's test client, in this process: the whole Django stack (middleware, API key or session,
filters, serializer or template) without the network. Printed per scenario: p50 and p95 wall time in ms, p95 of
this process's CPU time (on a loaded machine the wall time is mostly waiting for a core), the SQL statements of
one request (the same for every filter and page: no query per row), and the goal (p95 under 20 ms). Then the log's
totals (the count and credits of a filter, which the page asks for once shown) and the dashboard. `--explain` also
prints the plan (`EXPLAIN ANALYZE`) of each scenario's message query: the indexes are chosen from these.

Run: `.venv/bin/python bench/read_latency.py [--requests 40] [--explain] [--messages 1000000]`. To compare two
versions of the code on the same data in one run, copy this file into the other checkout's `bench/` and run both
in turn (docs/PERFORMANCE.md, "Reads at a million messages").
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_scale")

from bench import common  # noqa: E402

GOAL_P95_MS = 20.0


def _cursor_at_depth(organization_id: int, depth: int) -> str:
    """The log's cursor after `depth` rows (newest first), built like `messaging.selectors.encode_cursor`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT created_at, id FROM messaging_message WHERE organization_id = %s "
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            [organization_id, depth],
        )
        created_at, pk = cursor.fetchone()
    raw = json.dumps([created_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def scenarios(organization) -> list[tuple[str, dict]]:
    """(name, query parameters) of the filters a customer uses, on the seeded data."""
    from django.db import connection

    from messaging.models import Message, Provider
    from portal.timezone import operator_date

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(created_at), max(created_at) FROM messaging_message WHERE organization_id = %s",
            [organization.pk],
        )
        first, last = cursor.fetchone()
    middle = first + (last - first) / 2
    day = operator_date(middle)
    month_from, month_to = operator_date(middle - timedelta(days=15)), operator_date(middle + timedelta(days=15))
    # A number of the seeded customer base (read through the model: it may be stored encrypted).
    recipient = (
        Message.objects.filter(organization=organization).order_by("-id").values_list("recipient", flat=True)[1000]
    )
    fallback = Provider.objects.order_by("priority", "id")[1].name
    deep = _cursor_at_depth(organization.pk, 500_000)
    return [
        ("page 1, no filter", {}),
        ("page at depth 500,000", {"cursor": deep}),
        ("to=<number>", {"to": recipient}),
        ("status=delivered", {"status": "delivered"}),
        ("status=failed", {"status": "failed"}),
        ("status=queued", {"status": "queued"}),
        ("status=sent,delivered", {"status": "sent,delivered"}),
        ("status=delivered, depth 500,000", {"status": "delivered", "cursor": deep}),
        ("created_from/created_to, one month", {"created_from": str(month_from), "created_to": str(month_to)}),
        ("created_to=<date> (whole day)", {"created_from": str(day), "created_to": str(day)}),
        ("created_from=<a time> (half the data)", {"created_from": middle.isoformat()}),
        ("provider=<fallback>", {"provider": fallback}),
        ("network=dito", {"network": "dito"}),
        ("channel=otp", {"channel": "otp"}),
        (
            "status=failed + one month",
            {"status": "failed", "created_from": str(month_from), "created_to": str(month_to)},
        ),
        ("status=expired + network=dito", {"status": "expired", "network": "dito"}),
        ("q=<a word in most messages>", {"q": "your"}),
        ("q=<a word in one message of 8>", {"q": "appointment monday"}),
        ("q=<a word in 3 %>", {"q": "kaarawan"}),
        ("q=<a word in none>", {"q": "xylophone"}),
        ("provider=<fallback> + status=failed", {"provider": fallback, "status": "failed"}),
    ]


@dataclass
class Measured:
    wall_ms: list[float]  # per request, as the client saw it (includes waiting for a core on a loaded machine)
    cpu_ms: list[float]  # per request, this process's CPU time (Django and the driver; not PostgreSQL's)
    queries: int  # SQL statements of one request
    rows: int
    message_sql: str

    @property
    def wall_p95(self) -> float:
        return _p95(self.wall_ms)

    @property
    def cpu_p95(self) -> float:
        return _p95(self.cpu_ms)

    def cell(self) -> str:
        return f"{statistics.median(self.wall_ms):6.1f}/{self.wall_p95:<6.1f} cpu {self.cpu_p95:<5.1f}"


def _measure(client, url: str, params: dict | None = None, *, requests: int) -> Measured:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    params = params or {}
    for _ in range(3):
        response = client.get(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params}: HTTP {response.status_code} {response.content[:300]!r}")
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    captured = list(queries.captured_queries)  # read now: the next request clears the connection's log
    message_sql = next((q["sql"] for q in captured if "messaging_message" in q["sql"] and "LIMIT" in q["sql"]), "")
    timings, cpu = [], []
    for _ in range(requests):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    if url.startswith("/api/"):
        rows = len(response.json()["results"])
    elif "totals" in url:
        rows = 0
    else:
        rows = response.content.count(b'class="message-row"')
    return Measured(timings, cpu, len(captured), rows, message_sql)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def _explain(sql: str) -> str:
    from django.db import connection

    if not sql:
        return "  (no message query captured)"
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + sql)
        return "\n".join("    " + row[0] for row in cursor.fetchall())


def _row(name: str, *measured: Measured, labels=("API", "page")) -> tuple[str, str, str, str]:
    worst = max(m.wall_p95 for m in measured)
    figure = ", ".join(
        f"{label} p95 {m.wall_p95:.1f} ms (cpu {m.cpu_p95:.1f}), {m.queries} SQL"
        for label, m in zip(labels, measured, strict=False)
    )
    return (f"1M reads: {name}", figure, f"p95 < {GOAL_P95_MS:.0f} ms", "yes" if worst < GOAL_P95_MS else "NO")


def run(*, requests: int, explain: bool) -> list[tuple[str, str, str, str]]:
    """The table rows (what, figure, goal, met?) of every scenario; also printed as they come."""
    from django.conf import settings
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from accounts.active_organization import ACTIVE_ORGANIZATION_SESSION_KEY
    from accounts.models import Membership, Organization
    from bench.seed_million import MAIN_SLUG, api_key_path

    settings.DEBUG = False
    organization = Organization.objects.get(slug=MAIN_SLUG)
    key_file = api_key_path()
    if not key_file.exists():  # a seed made before the key was kept per database
        key_file = key_file.with_name("million-org.key")
    raw_key = key_file.read_text().strip()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    page = Client()
    owner = Membership.objects.filter(organization=organization).select_related("user").first().user
    page.force_login(owner)
    session = page.session
    session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
    session.save()

    rows = []
    print(f"\n{'scenario':<42} {'API ms p50/p95, cpu p95':>28} {'page ms p50/p95, cpu p95':>28} {'SQL':>7} rows")
    for name, params in scenarios(organization):
        api_m = _measure(api, "/api/v1/messages", params, requests=requests)
        page_m = _measure(page, reverse("messaging:log"), params, requests=requests)
        print(f"{name:<42} {api_m.cell():>28} {page_m.cell():>28} {api_m.queries:>3}/{page_m.queries:<3} {api_m.rows}")
        if explain:
            print(_explain(api_m.message_sql))
        rows.append(_row(name, api_m, page_m))
    try:
        totals_url = reverse("messaging:totals")
    except NoReverseMatch:  # a version whose log page counts the filter's messages itself
        totals_url = None
    if totals_url:
        for name, params in scenarios(organization):  # every filter: the kept counts answer only some
            totals = _measure(page, totals_url, params, requests=max(5, requests // 4))
            print(f"{'log totals: ' + name:<42} {'':>28} {totals.cell():>28} {totals.queries:>7}", flush=True)
            rows.append(_row(f"log totals (after the page): {name}", totals, labels=("totals",)))
    dashboard = _measure(page, reverse("dashboard"), requests=requests)
    print(f"{'dashboard (page)':<42} {'':>28} {dashboard.cell():>28} {dashboard.queries:>7}", flush=True)
    rows.append(_row("dashboard", dashboard, labels=("page",)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="measured requests per scenario and surface")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each message query")
    parser.add_argument("--table-json", help="also write the table rows to this file (run_all.py reads it)")
    parser.add_argument(
        "--messages", type=int, default=1_000_000, help="messages of the main organization (a smaller seed is faster)"
    )
    args = parser.parse_args(argv)
    common.postgres_ensure_running()
    common.django_setup()
    from bench import seed_million

    if not seed_million.seeded(messages=args.messages):
        seed_million.main(["--if-missing", "--messages", str(args.messages)])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM messaging_message")
        total = cursor.fetchone()[0]
    load = common.load_average()
    common.log(f"machine: {os.cpu_count()} cores, PostgreSQL {version}, load average {load}; {total:,} messages")
    table = run(requests=args.requests, explain=args.explain)
    common.log(f"load average at the end: {common.load_average()}")
    print()
    for row in table:
        print("  ".join(row))
    if args.table_json:
        Path(args.table_json).write_text(json.dumps(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
