"""Background work for online checkouts (apart from `tasks.py`, which the ledger services import)."""

from django_tasks import task

from billing.checkout import checkouts_reconcile
from portal.queues import TaskQueue


@task(queue_name=TaskQueue.MAINTENANCE)
def checkouts_reconcile_run() -> dict[str, int]:
    """Periodic: ask the payment provider about online checkouts not heard of for a while (a lost webhook, an
    expiry). Each payment is decided under its row lock, so running it twice is harmless."""
    return checkouts_reconcile()
