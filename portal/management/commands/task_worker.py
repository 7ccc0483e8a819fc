"""`manage.py task_worker [--queue NAME ...]`: the one worker command, whatever TASK_BACKEND is.

- rq: django-rq's `rqworker` on the queues in priority order (portal/queues.py), with django-tasks-rq's job class
  (RQ's own Job cannot run a django-tasks Task) and RQ's scheduler for deferred tasks. Each job runs in a forked
  process; a worker killed mid-job leaves the job's messages to crash recovery (`reconcile_in_flight`).
- database: django-tasks-db's `db_worker` on the same queues. It takes the oldest ready task of any of its queues,
  so a worker of its own for `otp` is what keeps one-time codes ahead of a bulk send.

Without --queue it serves every queue.
"""

import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_rq import get_connection
from redis.exceptions import RedisError

from portal.queues import DATABASE_BACKEND, QUEUES_IN_PRIORITY_ORDER, RQ_BACKEND, RQ_JOB_CLASS


class Command(BaseCommand):
    help = "Run a background task worker for TASK_BACKEND (rq or database) on every queue, or on --queue ones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            action="append",
            choices=QUEUES_IN_PRIORITY_ORDER,
            dest="queues",
            help="A queue to serve (repeat for several, served in the order given). Default: all, "
            + " > ".join(QUEUES_IN_PRIORITY_ORDER),
        )
        parser.add_argument("--burst", action="store_true", help="Run what is queued now, then exit.")
        parser.add_argument("--name", default=None, help="Worker name (unique across machines; default: generated).")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Database backend: seconds between polls when idle (RQ waits on Redis instead).",
        )

    def handle(self, *args, queues: list[str] | None, burst: bool, name: str | None, interval: float, **options):
        queues = queues or list(QUEUES_IN_PRIORITY_ORDER)
        backend = settings.TASKS["default"]["BACKEND"]
        verbosity = options["verbosity"]
        if backend == RQ_BACKEND:
            self._check_redis(queues[0])
            self.stdout.write(f"task worker (rq): {' > '.join(queues)}")
            call_command(
                "rqworker",
                *queues,
                job_class=RQ_JOB_CLASS,
                with_scheduler=True,
                burst=burst,
                name=name,
                # RQ logs three lines per job at INFO; periodic jobs would drown the log. -v 2 shows them.
                verbosity=max(0, verbosity - 1),
            )
        elif backend == DATABASE_BACKEND:
            extra = {"worker_id": name} if name else {}
            call_command(
                "db_worker",
                queue_name=",".join(queues),
                interval=interval,
                batch=burst,
                verbosity=verbosity,
                **extra,
            )
        else:
            raise CommandError(
                f"TASK_BACKEND={settings.TASK_BACKEND!r} ({backend}) has no worker: tasks run where they are "
                "enqueued. Use TASK_BACKEND=database or TASK_BACKEND=rq."
            )

    def _check_redis(self, queue: str) -> None:
        """Say plainly when Redis is missing (RQ's own message is a bare connection error)."""
        address = urlsplit(settings.RQ_QUEUES[queue].get("URL", ""))
        where = f"{address.hostname}:{address.port or 6379}{address.path}"  # no password in the log
        try:
            get_connection(queue).ping()
        except RedisError as error:
            self.stderr.write(
                f"TASK_BACKEND=rq but Redis at {where} does not answer ({error}). Start redis-server or set REDIS_URL."
            )
            sys.exit(1)
