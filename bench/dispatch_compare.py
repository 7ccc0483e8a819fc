"""What each change bought: the dispatch figures of several revisions of the code, measured one after another in
one run, so that they can be compared (figures of different runs cannot: see bench/README.md).

For each revision, its tree is exported (`git archive`) to a temporary directory, this checkout's dispatch
benchmark (dispatch_rate.py, dispatch_worker.py, dispatch_adapters.py) is put in it, and the benchmark runs against
that revision's code and migrations (its own database, recreated; its own provider simulator). Then one table:
revision x scenario.

    .venv/bin/python bench/dispatch_compare.py d6590f0 cd77c41 HEAD --workers 2 --provider-batch 1000,1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_FILES = ("dispatch_rate.py", "dispatch_worker.py", "dispatch_adapters.py")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def measure(repo: Path, revision: str, options: list[str], work: Path) -> list[dict]:
    tree = Path(tempfile.mkdtemp(prefix=revision.replace("/", "_") + "-", dir=work))
    archive = subprocess.run(["git", "archive", revision], cwd=repo, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    for name in BENCH_FILES:
        shutil.copy(HERE / name, tree / "bench" / name)
    (tree / ".venv").symlink_to(ROOT / ".venv")
    out = tree / "results.json"
    print(f"=== {revision}: {_git(repo, 'log', '-1', '--format=%h %s', revision)[:100]}", flush=True)
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "bench/dispatch_rate.py", *options, "--json", str(out)],
        cwd=tree,
        check=True,
    )
    return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="+", help="git revisions, oldest first (one may repeat: A B A B)")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--provider-batch", default="1000,1")
    parser.add_argument("--messages", default="20000")
    parser.add_argument("--single-messages", default="3000")
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git checkout the revisions are in")
    args = parser.parse_args(argv)
    options = [
        f"--workers={args.workers}",
        f"--provider-batch={args.provider_batch}",
        f"--messages={args.messages}",
        f"--single-messages={args.single_messages}",
    ]
    work = Path(tempfile.mkdtemp(prefix="sms-portal-bench-compare-"))
    results: list[tuple[str, list[dict]]] = []
    try:
        for revision in args.revisions:
            results.append((revision, measure(args.repo, revision, options, work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    scenarios = []
    for _, rows in results:
        for row in rows:
            key = (row["provider_batch"], row["workers"])
            if key not in scenarios:
                scenarios.append(key)
    header = ["revision"] + [
        f"{batch:,} a call, {workers} worker{'s' if workers > 1 else ''}" for batch, workers in scenarios
    ]
    table = [header]
    for revision, rows in results:
        by_key = {(row["provider_batch"], row["workers"]): row for row in rows}
        cells = [_git(args.repo, "log", "-1", "--format=%h %s", revision)[:60]]
        for key in scenarios:
            row = by_key.get(key)
            if row is None:
                cells.append("-")
            else:
                cpu = row.get("cpu_us_per_message") or {}
                cells.append(
                    f"{row['dispatch_rate']:,.0f} msg/s"
                    + (" ({worker:.0f}+{database:.0f}+{simulator:.0f} us)".format(**cpu) if cpu else "")
                    + ("" if _complete(row) else " (incomplete)")
                )
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print(
        "\n(in brackets: CPU microseconds per message of the workers + their PostgreSQL backends + the simulator; "
        f"{os.cpu_count()} cores; load average now {Path('/proc/loadavg').read_text().split()[:3]})"
    )
    if args.json:
        args.json.write_text(json.dumps([{"revision": r, "results": rows} for r, rows in results], indent=1))
    return 0


def _complete(row: dict) -> bool:
    return row["sent"] == row["messages"] and row["simulator_accepted"] >= row["messages"]


if __name__ == "__main__":
    sys.exit(main())
