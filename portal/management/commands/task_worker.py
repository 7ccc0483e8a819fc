"""`manage.py task_worker [--queue NAME ...]`: the one worker command, whatever TASK_BACKEND is.

- rq: django-rq's `rqworker` on the queues in priority order (portal/queues.py), with django-tasks-rq's job class
  (RQ's own Job cannot run a django-tasks Task) and RQ's scheduler for deferred tasks. Each job runs in a forked
  process; a worker killed mid-job leaves the job's messages to crash recovery (`reconcile_in_flight`).
- database: django-tasks-db's `db_worker` on the same queues. It takes the oldest ready task of any of its queues,
  so a worker of its own for `otp` is what keeps one-time codes ahead of a bulk send. `db_worker` stops at the first
  database error between tasks (its poll while PostgreSQL restarts); this command waits for the database and
  serves again, so a restart or a failover needs no one to restart the workers.

Without --queue it serves every queue.
"""

import logging
import sys
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils.crypto import get_random_string
from django_rq import get_connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from redis.exceptions import RedisError

from portal.queues import DATABASE_BACKEND, QUEUES_IN_PRIORITY_ORDER, RQ_BACKEND, RQ_JOB_CLASS

logger = logging.getLogger(__name__)

# Seconds between tries while the database does not answer (database backend): the last one repeats.
DATABASE_RETRY_WAITS = (0.5, 1, 2, 5)
# Failures further apart than this start the waits from the first again.
DATABASE_RETRY_RESET_SECONDS = 60


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
            self._serve_database_queues(
                queues=queues,
                burst=burst,
                worker_id=name or get_random_string(32),
                interval=interval,
                verbosity=verbosity,
            )
        else:
            raise CommandError(
                f"TASK_BACKEND={settings.TASK_BACKEND!r} ({backend}) has no worker: tasks run where they are "
                "enqueued. Use TASK_BACKEND=database or TASK_BACKEND=rq."
            )

    def _serve_database_queues(
        self, *, queues: list[str], burst: bool, worker_id: str, interval: float, verbosity: int
    ) -> None:
        """`db_worker`, served again each time it stops on a database error, once the database answers."""
        interrupted_by: Exception | None = None
        failures, last_failure = 0, 0.0
        while True:
            try:
                if interrupted_by is not None:
                    _fail_interrupted_tasks(worker_id=worker_id, error=interrupted_by)
                    interrupted_by = None
                call_command(
                    "db_worker",
                    queue_name=",".join(queues),
                    interval=interval,
                    batch=burst,
                    verbosity=verbosity,
                    worker_id=worker_id,
                )
                return
            except (OperationalError, InterfaceError) as error:
                interrupted_by = interrupted_by or error
                if time.monotonic() - last_failure > DATABASE_RETRY_RESET_SECONDS:
                    failures = 0
                wait = DATABASE_RETRY_WAITS[min(failures, len(DATABASE_RETRY_WAITS) - 1)]
                failures, last_failure = failures + 1, time.monotonic()
                logger.warning("The database does not answer (%s); serving again in %s s.", str(error).strip(), wait)
                close_old_connections()  # a connection the database dropped is opened afresh on the next query
                time.sleep(wait)

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


def _fail_interrupted_tasks(*, worker_id: str, error: Exception) -> None:
    """A task the database went away under could not have its result written: it is still marked running by this
    worker, which runs one task at a time and is between tasks now. It is recorded as failed with that error
    (the periodic jobs run again whatever must still happen, such as dispatch)."""
    for result in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING):
        if result.worker_ids[-1:] == [worker_id]:
            result.set_failed(error)
