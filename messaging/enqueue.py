"""Background tasks started once the current transaction commits (a rolled-back write never wakes a worker).

`messaging.tasks` imports the services (each task calls one), and some services wake a task: a send wakes the
dispatcher, a status change the webhook deliverer. So that imports go one way (tasks -> services -> this module),
a service names the task by its dotted path and this module looks it up when the transaction commits, as the
scheduler does with `messaging.periodic.SCHEDULE` and the task worker with every enqueued task.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

DISPATCH_QUEUED = "messaging.tasks.dispatch_queued"
# One-time codes only, on the `otp` queue, which a worker serves before the send queue.
DISPATCH_OTP = "messaging.tasks.dispatch_otp"
DELIVER_WEBHOOKS = "messaging.tasks.deliver_webhooks"


def enqueue_on_commit(task_path: str, **kwargs: Any) -> None:
    """Enqueue the task at `task_path` with `kwargs` (ids: they must survive JSON) after the commit."""
    transaction.on_commit(partial(_enqueue, task_path, kwargs))


def enqueue_now(task_path: str, **kwargs: Any) -> None:
    """Enqueue at once (the caller has committed already); a database that went away is logged, not raised."""
    _enqueue(task_path, kwargs)


def _enqueue(task_path: str, kwargs: dict[str, Any]) -> None:
    try:
        import_string(task_path).enqueue(**kwargs)
    except (OperationalError, InterfaceError):
        # The database went away between the commit and the enqueue (the database task backend writes the task
        # there): what was committed stands and must not be answered as an error, which a client would send
        # again. The periodic jobs find what an enqueue missed (`messaging.periodic`: queued messages, webhooks).
        logger.warning("Could not enqueue %s after the commit: the database does not answer", task_path, exc_info=True)
    except Exception:
        # Any other backend's failure (Redis gone, with the RQ backend) is the same case: logged, not raised. A
        # send grouped with others (`portal.group_commit`) would otherwise be stored again on its own.
        logger.exception("Could not enqueue %s after the commit", task_path)
