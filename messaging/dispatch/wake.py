"""Waking the dispatcher after a send: one enqueued run per pass of the workers, not one per request.

Every committed send used to enqueue a dispatcher run (a task row INSERT and a commit of its own on the database
task backend), and the workers then started one run per request, most of which found nothing left to claim. Now a
row per dispatcher task (`DispatchWake`) says whether a run was asked for and has not started yet:

- after its commit, a send sets `wanted_at` only where it is empty (or older than `WAKE_PATIENCE`) and enqueues a run
  only when it set it: one UPDATE that writes nothing in the common case (another send already asked);
- a run empties `wanted_at` before its first claim (`dispatcher_run_started`).

A send stored in one statement (`messaging.services.send_statement`) reads the row inside that statement instead,
with a share lock (`wake_pending_clause`): a run's emptying waits for that lock, so when the statement found a
run pending, the run's claim comes after the statement's commit and sees its messages; only when it found none
does the send wake the dispatcher after the commit (`wake_after_statement`), without another round trip otherwise.

Nothing committed is missed: a send that found `wanted_at` set read it after its own commit, so the run that will
empty it had not emptied it yet (or was emptying it: the send's UPDATE then skips the row without waiting, and the
run's claim comes after that emptying commits), and that run's claim, which follows the emptying, sees the send's
messages. A run that never starts (its worker died, its enqueue was lost with the database) holds the others back for
`WAKE_PATIENCE` at most; the periodic dispatch (every 15 s) also empties the row when it runs. Which task backend
runs the task does not matter: the row is the portal's own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from messaging.enqueue import enqueue_now
from messaging.models_dispatch import DispatchWake

logger = logging.getLogger(__name__)

WAKE_PATIENCE = timedelta(seconds=5)

_TABLE = DispatchWake._meta.db_table
_WANT_SQL = (
    f"UPDATE {_TABLE} SET wanted_at = %s "  # noqa: S608 - the table name comes from the model
    "WHERE task_path = %s AND (wanted_at IS NULL OR wanted_at < %s)"
)
_EXISTS_SQL = f"SELECT 1 FROM {_TABLE} WHERE task_path = %s"  # noqa: S608 - the table name comes from the model
# PostgreSQL: both answers in one statement (a data-modifying WITH runs whether or not the outer SELECT reads it).
_WANT_OR_EXISTS_SQL = f"WITH wanted AS ({_WANT_SQL} RETURNING 1) SELECT (SELECT count(*) FROM wanted), ({_EXISTS_SQL})"  # noqa: S608 - the table name comes from the model


def wake_dispatcher_on_commit(task_path: str) -> None:
    """After the commit, make sure a run of the dispatcher task at `task_path` (a task without arguments that
    takes every due message) will start after it, enqueueing one only when none is waiting."""
    transaction.on_commit(partial(_wake, task_path))


def wake_pending_clause(task_path: str) -> tuple[str, list]:
    """A scalar subquery (SQL, parameters) for a sender's own statement (PostgreSQL): the `wanted_at` of the
    dispatcher at `task_path`, read with a share lock that the statement's commit releases. Hand what it returned
    to `wake_after_statement`."""
    return f"(SELECT wanted_at FROM {_TABLE} WHERE task_path = %s FOR SHARE)", [task_path]  # noqa: S608 - model's


def wake_after_statement(task_path: str, wanted_at: datetime | None) -> None:
    """After a statement that read `wake_pending_clause` stored messages: wake the dispatcher unless the statement
    found a run pending. The run's emptying of `wanted_at` waited for the statement's lock, so its claim comes
    after the statement's commit. A run asked for longer than `WAKE_PATIENCE` ago counts as never started."""
    if wanted_at is not None and wanted_at >= timezone.now() - WAKE_PATIENCE:
        return
    wake_dispatcher_on_commit(task_path)


def _wake(task_path: str) -> None:
    now = timezone.now()
    params = [now, task_path, now - WAKE_PATIENCE]
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(_WANT_OR_EXISTS_SQL, [*params, task_path])
                wanted, exists = cursor.fetchone()
            else:
                cursor.execute(_WANT_SQL, params)
                wanted = cursor.rowcount
                exists = wanted or _exists(cursor, task_path)
            if not exists:
                # The first wake-up of this dispatcher (or the table was emptied): the row is created as wanted.
                DispatchWake.objects.get_or_create(task_path=task_path, defaults={"wanted_at": now})
                wanted = True
    except DatabaseError:
        # The database went away after the commit: what was committed stands; the periodic dispatch sends it.
        logger.warning("Could not wake %s after the commit", task_path, exc_info=True)
        return
    if wanted:
        enqueue_now(task_path)


def _exists(cursor, task_path: str) -> bool:
    cursor.execute(_EXISTS_SQL, [task_path])
    return cursor.fetchone() is not None


def dispatcher_run_started(*, task_path: str) -> None:
    """A run of the dispatcher at `task_path` is about to claim: the next send must wake another one. Called before
    the first claim, outside any transaction (the emptying must commit before the claim reads)."""
    DispatchWake.objects.filter(task_path=task_path).exclude(wanted_at=None).update(wanted_at=None)
