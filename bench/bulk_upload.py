"""Benchmark 3: one CSV upload of N recipients validated, priced, charged and queued, against a raw `bulk_create`.

Both in the same process and run, on the benchmark database:
- `csv upload`: `bulk_send_upload` (stores the file, validates and prices every row: the preview) then
  `bulk_send_process` (the background part: campaign messages stored, charged and queued in runs of 1,000);
- `raw bulk_create`: the same rows as Message objects (E.164 number, network, text, price, queued), stored with
  `Message.objects.bulk_create(batch_size=1000)` in one transaction, nothing else.

Prints both times, rows/s, the ratio (goal: the upload at least as fast as the raw insert, ratio >= 1.0) and the
process's peak RSS (goal: under 200 MB). The messages both leave queued are parked afterwards (cancelled by raw
SQL on the throwaway database) so no later benchmark dispatches them.

    .venv/bin/python bench/bulk_upload.py [--rows 100000]      # recreates the benchmark database
    .venv/bin/python bench/run_all.py --only bulk              # the same inside the full run
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

MEMORY_GOAL_MB = 200
BODY = "Hello {name}, your order ships today."


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "name"])
        for index, number in enumerate(common.recipients(rows)):
            writer.writerow(["0" + number[3:], f"Customer {index}"])  # typed the local way: 0917...


def _csv_upload(*, organization, actor, path: Path) -> tuple[float, int]:
    from django.core.files.uploadedfile import UploadedFile
    from django.db import transaction

    from messaging.csv_import import bulk_send_process, bulk_send_start, bulk_send_upload

    started = time.perf_counter()
    with path.open("rb") as handle:
        upload = UploadedFile(handle, name="bench.csv", size=path.stat().st_size)
        bulk = bulk_send_upload(organization=organization, actor=actor, upload=upload, default_body=BODY)
    with transaction.atomic():
        bulk_send_start(organization=organization, actor=actor, bulk_id=bulk.id)
    bulk = bulk_send_process(organization_id=organization.pk, bulk_id=bulk.id)
    elapsed = time.perf_counter() - started
    if bulk.status != "done":
        raise RuntimeError(f"the upload ended {bulk.status}: {bulk.error_message}")
    return elapsed, bulk.accepted


def _raw_bulk_create(*, organization, rows: int) -> float:
    from django.db import transaction
    from django.utils import timezone

    from billing.selectors import message_price
    from messaging.models import Message, MessageChannel, MessageStatus
    from messaging.numbers import detect_network
    from messaging.segments import count_segments

    started = time.perf_counter()
    now = timezone.now()
    price = message_price(organization=organization, segments=count_segments(BODY).segments)
    with transaction.atomic():
        batch = []
        for index, number in enumerate(common.recipients(rows)):
            text = BODY.replace("{name}", f"Customer {index}")
            info = count_segments(text)
            batch.append(
                Message(
                    organization=organization,
                    recipient=number,
                    network=detect_network(number),
                    body=text,
                    sender_name="BENCH",
                    encoding=info.encoding,
                    segments=info.segments,
                    price=price,
                    status=MessageStatus.QUEUED,
                    channel=MessageChannel.CSV,
                    created_at=now,
                    next_attempt_at=now,
                    status_changed_at=now,
                )
            )
            if len(batch) == 1000:
                Message.objects.bulk_create(batch, batch_size=1000)
                batch = []
        if batch:
            Message.objects.bulk_create(batch, batch_size=1000)
    return time.perf_counter() - started


def run(*, organization_id: int, rows: int) -> list[tuple[str, str, str, str]]:
    """Both figures for `rows` recipients; returns run_all's table rows."""
    from accounts.models import Organization
    from billing.services import credits_adjust

    organization = Organization.objects.get(pk=organization_id)
    actor = organization.memberships.select_related("user").first().user
    credits_adjust(organization=organization, actor=None, amount=Decimal(rows * 10), reason="bulk bench", via="bench")
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as directory:
        path = Path(directory) / "bench.csv"
        _write_csv(path, rows)
        rss_before = _peak_rss_mb()
        common.log(f"bulk: CSV upload of {rows:,} rows (validate, price, charge, queue)")
        upload_s, accepted = _csv_upload(organization=organization, actor=actor, path=path)
        rss_upload = _peak_rss_mb()
    common.queued_messages_park()
    common.log(f"bulk: raw bulk_create of {rows:,} rows")
    raw_s = _raw_bulk_create(organization=organization, rows=rows)
    common.queued_messages_park()
    ratio = raw_s / upload_s if upload_s else 0.0
    common.log(
        f"bulk: upload {upload_s:.1f} s ({accepted / upload_s:,.0f} rows/s), raw bulk_create {raw_s:.1f} s "
        f"({rows / raw_s:,.0f} rows/s), ratio {ratio:.2f}; peak RSS {rss_upload:.0f} MB (before {rss_before:.0f})"
    )
    return [
        (
            f"CSV upload, {rows:,} recipients (validate, price, charge, queue)",
            f"{upload_s:.1f} s ({accepted / upload_s:,.0f} rows/s)",
            "(reported)",
            "-",
        ),
        (f"raw bulk_create, same {rows:,} rows", f"{raw_s:.1f} s ({rows / raw_s:,.0f} rows/s)", "(reported)", "-"),
        (
            "  upload vs raw bulk_create (raw time / upload time)",
            f"{ratio:.2f}",
            ">= 1.00",
            "yes" if ratio >= 1.0 else "NO",
        ),
        (
            "  peak RSS during the upload",
            f"{rss_upload:.0f} MB",
            f"< {MEMORY_GOAL_MB} MB",
            "yes" if rss_upload < MEMORY_GOAL_MB else "NO",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    if not 1_000 <= args.rows <= 100_000:
        parser.error("--rows 1000..100000 (a CSV upload takes at most 100,000 rows)")
    common.postgres_ensure_running()
    common.database_recreate()
    common.django_setup()
    organization = common.organizations_prepare(simulator_url="http://127.0.0.1:9")[0]
    rows = run(organization_id=organization.organization_id, rows=args.rows)
    for row in rows:
        print("  ".join(row))


if __name__ == "__main__":
    main()
