"""The message log's CSV export on PostgreSQL: rows per second and peak memory, plus the plan of a `to=` filter.

Seeds N messages (default 200,000) for one organization with COPY, then streams the whole log through
`messaging.log_export.export_rows` (the generator the download view returns) and counts rows and bytes. Printed:
machine (cores, PostgreSQL version), rows/s, the growth of the process's peak RSS during the export, the goal.
Run: `.venv/bin/python bench/export_csv.py --rows 200000` (drops and recreates its own database:
BENCH_DATABASE_URL, default sms_portal_bench_scale).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_portal_bench_scale")

from bench import common  # noqa: E402

GOAL_ROWS_PER_SECOND = 100_000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(*, rows: int) -> int:
    """One organization with `rows` delivered messages, written with COPY; returns the organization id."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import organization_create
    from messaging.models import Message, MessageChannel, MessageStatus
    from portal.crypto import keyed_hash

    owner = User.objects.create_user(email="export-owner@bench.invalid", password=None)
    organization = organization_create(name="Export Org", owner=owner, slug="export-org")
    template = Message(
        organization=organization,
        recipient="+639170000000",
        network="globe",
        body="Your order 12345 has shipped and arrives tomorrow.",
        sender_name="BENCH",
        encoding="gsm7",
        segments=1,
        price="0.50",
        status=MessageStatus.DELIVERED,
        channel=MessageChannel.API,
    )
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    base = {f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields}
    start = timezone.now() - timedelta(days=30)
    numbers = common.recipients(rows)
    # The number is stored encrypted with its keyed hash beside it, as `Message.objects.create` writes it: the export
    # decrypts every row's number, so each row gets its own ciphertext (the body's is shared, which decrypts the same).
    recipient = Message._meta.get_field("recipient")
    lookup = next((f for f in fields if getattr(f, "source", None) == "recipient"), None)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY messaging_message ({columns}) FROM STDIN") as copy:
        for index in range(rows):
            moment = start + timedelta(seconds=index)
            number = numbers[index]
            row = dict(base, created_at=moment, status_changed_at=moment)
            row["recipient"] = recipient.get_db_prep_save(number, connection)
            if lookup is not None:
                row[lookup.attname] = keyed_hash(number, purpose=lookup.purpose)
            row["delivered_at"] = moment
            row["sent_at"] = moment
            row["next_attempt_at"] = moment
            copy.write_row([row[f.attname] for f in fields])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
    return organization.pk


def export(*, organization_id: int) -> tuple[int, int, float, float]:
    from accounts.models import Organization
    from messaging import selectors
    from messaging.log_export import export_rows

    organization = Organization.objects.get(pk=organization_id)
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    lines = size = 0
    for chunk in export_rows(selectors.message_list(organization=organization)):
        lines += chunk.count("\n")
        size += len(chunk)
    elapsed = time.perf_counter() - started
    return lines - 1, size, elapsed, _peak_rss_mb() - rss_before


def recipient_plan(*, organization_id: int) -> str:
    """The plan of the log's `to=` filter: the keyed hash of the number (the number itself is encrypted)."""
    from django.db import connection

    from portal.crypto import phone_lookup_hash

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS OFF) SELECT id FROM messaging_message WHERE organization_id = %s "
            "AND recipient_hash = %s ORDER BY created_at DESC, id DESC LIMIT 51",
            [organization_id, phone_lookup_hash(common.recipients(1, start=1234)[0])],
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    common.postgres_ensure_running()
    common.database_recreate()
    common.django_setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    common.log(f"machine: {os.cpu_count()} cores, PostgreSQL {version}")
    started = time.perf_counter()
    organization_id = seed(rows=args.rows)
    common.log(f"seeded {args.rows:,} messages with COPY in {time.perf_counter() - started:.1f} s")
    rows, size, elapsed, rss_growth = export(organization_id=organization_id)
    rate = rows / elapsed if elapsed else 0.0
    print(f"log CSV export: {rows:,} rows, {size / 1e6:.0f} MB in {elapsed:.2f} s = {rate:,.0f} rows/s")
    print(f"  peak RSS growth during the export: {rss_growth:.0f} MB (flat = does not grow with the row count)")
    print(f"  goal: >= {GOAL_ROWS_PER_SECOND:,} rows/s -> {'met' if rate >= GOAL_ROWS_PER_SECOND else 'NOT met'}")
    print("plan of `to=` (one recipient, newest 51):")
    print(recipient_plan(organization_id=organization_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
