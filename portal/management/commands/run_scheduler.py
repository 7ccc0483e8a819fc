"""`manage.py run_scheduler`: enqueues each app's periodic jobs (`<app>/periodic.py`) when they are due.

Start one per machine or several: each job is enqueued once per due time across all of them (see
`portal.scheduler`). The task workers run the jobs.
"""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from portal.scheduler import Scheduler, periodic_runs_prune, schedule_collect

PRUNE_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = "Enqueue each app's periodic tasks when due, once across every running scheduler (see <app>/periodic.py)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Enqueue every periodic task once now (no claim: an operator's extra run) and exit",
        )
        parser.add_argument("--tick", type=float, default=1.0, help="Seconds between checks")

    def handle(self, *args, once: bool, tick: float, **options):
        schedule = schedule_collect()
        scheduler = Scheduler(schedule)
        if once:
            for job in schedule:
                scheduler.tasks[job.path].enqueue()
                self.stdout.write(f"enqueued {job.path}")
            return
        self._running = True
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "_running", False))
        self.stdout.write(
            f"scheduler {scheduler.name}: {len(schedule)} periodic task(s): " + ", ".join(j.path for j in schedule)
        )
        next_prune = time.monotonic()
        try:
            while self._running:
                # A long-lived process: drop a connection the database closed (restart, failover) before using it.
                close_old_connections()
                result = scheduler.tick()
                for path, error in result.failed.items():
                    self.stderr.write(f"could not enqueue {path}: {error}")
                if options["verbosity"] > 1:
                    for path in result.enqueued:
                        self.stdout.write(f"enqueued {path}")
                if time.monotonic() >= next_prune:
                    try:
                        periodic_runs_prune()
                    except Exception as exc:  # the claims still work; pruning is retried in an hour
                        self.stderr.write(f"could not prune old periodic runs: {exc}")
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                time.sleep(tick)
        except KeyboardInterrupt:
            pass
