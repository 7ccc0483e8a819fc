"""Exports at a million messages: the log's CSV export and a person's personal-data export, rows/s and memory.

On the database `bench/seed_million.py` made (BENCH_DATABASE_URL, default sms_scale):
- the log's CSV export of the million organization (`messaging.log_export.export_rows`, every row, as the download
  view streams it), counted and thrown away;
- the personal-data export (`privacy.data.export_archive.export_build`, the encrypted ZIP) of one person: the
  neighbour organizations' messages are made that person's (their number and its keyed hash written in place,
  once; the million organization is left as seeded), so the person has all of them (300,000 on the default seed).
  For a person with a million messages, seed a database of its own (`BENCH_DATABASE_URL=...sms_scale_person1m
  bench/seed_million.py --messages 10000 --other-orgs 1 --other-messages 1000000`) and pass `--messages 10000`.
Printed: rows, seconds, rows/s, the growth of this process's peak RSS during the export (flat = it does not grow
with the rows), the machine, and the goal (100,000 rows/s, memory flat). Every row decrypts the stored number and
text: that cost is in the figures.

Run: `.venv/bin/python bench/export_million.py [--only log|privacy]`; on a smaller seed (`seed_million.py --messages
200000`) pass the same `--messages`. `--compare REV [--rounds N]`: that revision's export code and this checkout's,
alternating in fresh processes on the same data, N rounds each, with the load average after each run and the
after/before ratio per round (the machine's load moves single figures more than a change does).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_scale")

from bench import common  # noqa: E402

GOAL_ROWS_PER_SECOND = 100_000
PERSON_NUMBER = "+639175550100"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class ExportFigure:
    name: str
    rows: int
    seconds: float
    rss_growth_mb: float
    size_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def table_row(self) -> tuple[str, str, str, str]:
        return (
            f"export: {self.name}",
            f"{self.rows:,} rows in {self.seconds:.1f} s = {self.rate:,.0f} rows/s, "
            f"{self.size_mb:.0f} MB, peak RSS +{self.rss_growth_mb:.0f} MB",
            f">= {GOAL_ROWS_PER_SECOND:,} rows/s, memory flat",
            "yes" if self.rate >= GOAL_ROWS_PER_SECOND and self.rss_growth_mb < 50 else "NO",
        )


def log_export() -> ExportFigure:
    from accounts.models import Organization
    from bench.seed_million import MAIN_SLUG
    from messaging import selectors
    from messaging.log_export import export_rows

    organization = Organization.objects.get(slug=MAIN_SLUG)
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    lines = size = 0
    for chunk in export_rows(selectors.message_list(organization=organization)):
        lines += chunk.count("\n")
        size += len(chunk)
    elapsed = time.perf_counter() - started
    return ExportFigure("log CSV, 1 organization", lines - 1, elapsed, _peak_rss_mb() - rss_before, size / 1e6)


def person_prepare() -> int:
    """Make the neighbour organizations' messages one person's (idempotent); returns how many that person has."""
    from django.db import connection

    from bench.seed_million import MAIN_SLUG
    from messaging.models import Message

    recipient = Message._meta.get_field("recipient")
    values = {"recipient": recipient.get_db_prep_save(PERSON_NUMBER, connection=connection)}
    fields = {f.attname: f for f in Message._meta.concrete_fields}
    if "recipient_hash" in fields:
        probe = Message(recipient=PERSON_NUMBER)
        values["recipient_hash"] = fields["recipient_hash"].pre_save(probe, True)
    assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in values)
    key = "recipient_hash" if "recipient_hash" in values else "recipient"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE messaging_message SET {assignments} WHERE organization_id IN "  # noqa: S608 - names from the model
            "(SELECT id FROM accounts_organization WHERE slug <> %s) "
            f"AND {connection.ops.quote_name(key)} IS DISTINCT FROM %s",
            [*values.values(), MAIN_SLUG, values[key]],
        )
        updated = cursor.rowcount
        if updated:
            cursor.execute("VACUUM ANALYZE messaging_message")
        cursor.execute(
            f"SELECT count(*) FROM messaging_message WHERE {connection.ops.quote_name(key)} = %s",  # noqa: S608
            [values[key]],
        )
        return cursor.fetchone()[0]


def privacy_export() -> ExportFigure:
    from privacy.data.export import export_create
    from privacy.data.export_archive import export_build, export_path
    from privacy.data.models import SubjectKind

    messages = person_prepare()
    common.log(f"the person has {messages:,} messages")
    export = export_create(subject_kind=SubjectKind.RECIPIENT, phone_number=PERSON_NUMBER)
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    export = export_build(export_id=export.pk)
    elapsed = time.perf_counter() - started
    if export.status != "ready":
        raise RuntimeError(f"export {export.pk} is {export.status}: {export.last_error}")
    size = export_path(export).stat().st_size
    export_path(export).unlink()  # runs repeat: the archives would pile up
    # The figure is the person's messages per second of the whole archive (each message is read once per category,
    # usage data and personal information, and written to both of its files: a JSON record and a CSV line of the
    # table's CSV file); the records are also printed.
    common.log(f"records per category: {export.row_counts}")
    return ExportFigure(
        f"personal data of one person ({messages:,} messages)",
        messages,
        elapsed,
        _peak_rss_mb() - rss_before,
        size / 1e6,
    )


def run(*, only: str | None = None) -> list[tuple[str, str, str, str]]:
    rows = []
    if only in (None, "log"):
        figure = log_export()
        print(figure.table_row()[1], flush=True)
        rows.append(figure.table_row())
    if only in (None, "privacy"):
        figure = privacy_export()
        print(figure.table_row()[1], flush=True)
        rows.append(figure.table_row())
    return rows


def _child(what: str, code_root: str) -> int:
    """One export with the code of `code_root` (a revision's files, or this checkout): prints its figure as JSON,
    with this process's CPU seconds (on a loaded machine they move less than the wall time)."""
    sys.path.insert(0, code_root)
    common.django_setup()
    if what == "privacy":
        person_prepare()
    cpu = time.process_time()
    figure = log_export() if what == "log" else privacy_export()
    cpu = time.process_time() - cpu
    print(
        json.dumps({"rows": figure.rows, "seconds": figure.seconds, "cpu": cpu, "rss": figure.rss_growth_mb}),
        flush=True,
    )
    return 0


def compare(revision: str, *, only: str | None, rounds: int) -> None:
    """Revision against this checkout, alternating in fresh processes on the same data: before/after of one run."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="export-compare-") as before:
        archive = subprocess.run(["git", "archive", revision], cwd=common.ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        figures: dict[tuple[str, str], list[float]] = {}
        for what in [name for name in ("log", "privacy") if only in (None, name)]:
            for round_number in range(1, rounds + 1):
                for label, root in ((revision, before), ("this checkout", str(common.ROOT))):
                    result = subprocess.run(
                        [str(common.PYTHON), __file__, "--child", what, "--code-root", root],
                        env=common.child_env(),
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    figure = json.loads(result.stdout.strip().splitlines()[-1])
                    rate = figure["rows"] / figure["seconds"]
                    figures.setdefault((what, label), []).append(rate)
                    common.log(
                        f"{what} round {round_number} {label}: {figure['rows']:,} rows in {figure['seconds']:.1f} s"
                        f" = {rate:,.0f} rows/s (CPU {figure['cpu']:.1f} s = {figure['rows'] / figure['cpu']:,.0f}"
                        f" rows per CPU second), peak RSS +{figure['rss']:.0f} MB, load {common.load_average()}"
                    )
        for what in [name for name in ("log", "privacy") if only in (None, name)]:
            old, new = figures[(what, revision)], figures[(what, "this checkout")]
            ratios = ", ".join(f"{b / a:.2f}x" for a, b in zip(old, new, strict=True))
            print(
                f"{what}: {revision} {' / '.join(f'{rate:,.0f}' for rate in old)} rows/s; this checkout "
                f"{' / '.join(f'{rate:,.0f}' for rate in new)} rows/s; after/before per round {ratios}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["log", "privacy"])
    parser.add_argument("--table-json", help="also write the table rows to this file (run_all.py reads it)")
    parser.add_argument(
        "--messages", type=int, default=1_000_000, help="the seed's size (a smaller seed_million.py --messages run)"
    )
    parser.add_argument("--compare", metavar="REV", help="alternate this revision's export code with this checkout's")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare: alternations per export")
    parser.add_argument("--child", choices=["log", "privacy"], help=argparse.SUPPRESS)
    parser.add_argument("--code-root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.code_root)
    common.postgres_ensure_running()
    common.django_setup()
    from bench import seed_million

    if not seed_million.seeded(messages=args.messages):
        seed_million.main(["--if-missing", "--messages", str(args.messages)])
    common.log(f"machine: {os.cpu_count()} cores, load average {common.load_average()}")
    if args.compare:
        from django.db import connections

        connections.close_all()
        compare(args.compare, only=args.only, rounds=args.rounds)
        return 0
    table = run(only=args.only)
    for row in table:
        print("  ".join(row))
    if args.table_json:
        Path(args.table_json).write_text(json.dumps(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
