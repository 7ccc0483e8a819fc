"""Enqueues periodic jobs: each installed app may declare `SCHEDULE = [("dotted.task", seconds), ...]` in
`<app>/periodic.py`. The scheduler only enqueues; the task worker (any backend) runs them, and every periodic task is
idempotent, so a restart that enqueues one twice does no harm."""

import importlib
import signal
import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


def collect_schedule() -> list[tuple[str, int]]:
    schedule: list[tuple[str, int]] = []
    for app_config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app_config.name}.periodic")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.periodic":
                raise
            continue
        schedule.extend((path, int(seconds)) for path, seconds in getattr(module, "SCHEDULE", []))
    return schedule


class Command(BaseCommand):
    help = "Enqueue each app's periodic tasks at their interval (see <app>/periodic.py)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Enqueue every periodic task once and exit")
        parser.add_argument("--tick", type=float, default=1.0, help="Seconds between checks")

    def handle(self, *args, once: bool, tick: float, **options):
        schedule = collect_schedule()
        tasks = {path: import_string(path) for path, _ in schedule}
        if once:
            for path, _ in schedule:
                tasks[path].enqueue()
                self.stdout.write(f"enqueued {path}")
            return
        self._running = True
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "_running", False))
        next_run = {path: time.monotonic() for path, _ in schedule}
        self.stdout.write(f"scheduler: {len(schedule)} periodic task(s): " + ", ".join(p for p, _ in schedule))
        try:
            while self._running:
                now = time.monotonic()
                for path, seconds in schedule:
                    if now >= next_run[path]:
                        try:
                            tasks[path].enqueue()
                        except Exception as exc:  # keep scheduling the others; the error is visible in the log
                            self.stderr.write(f"could not enqueue {path}: {exc}")
                        next_run[path] = now + seconds
                time.sleep(tick)
        except KeyboardInterrupt:
            pass
