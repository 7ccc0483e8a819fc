"""The CSV writer alone, on the log export's own rows: `csv.writer` (as the log export wrote its chunks before)
against `portal.csv_export.csv_lines` (the lines built a column at a time), CPU microseconds a row.

The rows are read, decrypted and held in memory first (chunks of 2,000, as the export makes them), so only the
writing is timed; the two ways alternate, `--rounds` times, and their texts are compared. On the database
`bench/seed_million.py` made (BENCH_DATABASE_URL, default sms_scale; `--rows` of the million organization).

Run: `.venv/bin/python bench/export_csv_writer.py --rows 100000 --rounds 5`.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_scale")

from bench import common  # noqa: E402


def _chunks(rows: int) -> tuple[list[list], tuple]:
    """The export's chunks as columns, decrypted, before any neutralising (and the rules of its columns)."""
    from django.db import connection

    from accounts.models import Organization
    from bench.seed_million import MAIN_SLUG
    from messaging import log_export, selectors
    from portal.crypto import decryptor

    queryset = selectors.message_list(organization=Organization.objects.get(slug=MAIN_SLUG))[:rows]
    sql, params = log_export._rows_sql(queryset)
    decrypt = decryptor()
    chunks = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(log_export.EXPORT_CHUNK_SIZE):
            columns = list(zip(*chunk, strict=True))
            columns[log_export._RECIPIENT] = decrypt.many(columns[log_export._RECIPIENT])
            columns[log_export._BODY] = decrypt.many(columns[log_export._BODY])
            chunks.append(columns)
    return chunks, log_export._RULES


def _with_csv_writer(chunks: list[list], rules: tuple) -> str:
    """The log export's way before: free-text columns neutralised a column at a time, then `csv.writer`."""
    from portal.csv_export import FORMULA_PREFIXES, FREE_TEXT

    def cells(column):
        if any(text and text.startswith(FORMULA_PREFIXES) for text in column):
            return [("'" + text if text.startswith(FORMULA_PREFIXES) else text) if text else "" for text in column]
        return column

    free = [index for index, rule in enumerate(rules) if rule == FREE_TEXT]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    parts = []
    for columns in chunks:
        columns = list(columns)
        for index in free:
            columns[index] = cells(columns[index])
        writer.writerows(zip(*columns, strict=True))
        parts.append(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
    return "".join(parts)


def _with_csv_lines(chunks: list[list], rules: tuple) -> str:
    from portal.csv_export import csv_lines

    return "".join(csv_lines(columns, rules=rules) for columns in chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    common.django_setup()
    chunks, rules = _chunks(args.rows)
    rows = sum(len(columns[0]) for columns in chunks)
    common.log(f"{rows:,} rows in memory; load average {common.load_average()}")
    timings: dict[str, list[float]] = {"csv.writer": [], "csv_lines": []}
    texts = {}
    for _ in range(args.rounds):
        for name, way in (("csv.writer", _with_csv_writer), ("csv_lines", _with_csv_lines)):
            started = time.process_time()
            texts[name] = way(chunks, rules)
            timings[name].append((time.process_time() - started) / rows * 1e6)
    same = texts["csv.writer"] == texts["csv_lines"]
    for name, values in timings.items():
        print(f"{name}: {' / '.join(f'{value:.2f}' for value in values)} µs of CPU a row (best {min(values):.2f})")
    print(f"same text: {same} ({len(texts['csv_lines']):,} characters); load average {common.load_average()}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
