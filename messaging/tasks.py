"""Background tasks of the messaging engine. Each takes ids (or nothing), loads state and calls a service;
each is idempotent, so the periodic scheduler and on-commit enqueues may overlap safely."""

from django_tasks import task

from messaging.dispatch.reconcile import dispatch_reconcile_stale
from messaging.dispatch.wake import dispatcher_run_started, wake_dispatcher_on_commit
from messaging.dispatch.worker import dispatch_queued_messages
from messaging.enqueue import DISPATCH_OTP, DISPATCH_QUEUED
from messaging.models import MessageChannel
from messaging.services.delivery import delivery_poll_due
from messaging.services.idempotency import idempotency_purge_expired
from messaging.services.notices import notice_refresh_fallback
from messaging.services.otp import otp_delivery_bodies_purge
from messaging.services.webhooks import webhook_deliver, webhook_deliver_due
from portal.queues import TaskQueue


@task(queue_name=TaskQueue.SEND)
def dispatch_queued() -> dict:
    """Send every due queued message (enqueued after each send commits; also run periodically for retries and
    scheduled messages)."""
    dispatcher_run_started(task_path=DISPATCH_QUEUED)
    summary = dispatch_queued_messages()
    if summary.more_left:
        # Senders wake one run per process, not one per request: a run that stopped at its round limit hands over.
        wake_dispatcher_on_commit(DISPATCH_QUEUED)
    return {"claimed": summary.claimed, "accepted": summary.accepted, "requeued": summary.requeued}


@task(queue_name=TaskQueue.OTP)
def dispatch_otp() -> dict:
    """Send the due one-time codes, and nothing else (enqueued on the `otp` queue when a code is sent): a code
    does not wait behind a bulk backlog on the send queue."""
    dispatcher_run_started(task_path=DISPATCH_OTP)
    summary = dispatch_queued_messages(channel=MessageChannel.OTP)
    if summary.more_left:
        wake_dispatcher_on_commit(DISPATCH_OTP)
    return {"claimed": summary.claimed, "accepted": summary.accepted, "requeued": summary.requeued}


@task(queue_name=TaskQueue.SEND)
def reconcile_in_flight() -> dict:
    """Resolve dispatch attempts left in flight by a worker that stopped."""
    summary = dispatch_reconcile_stale()
    return {
        "checked": summary.checked,
        "accepted": summary.accepted,
        "requeued": summary.requeued,
        "unknown": summary.unknown,
    }


@task(queue_name=TaskQueue.MAINTENANCE)
def poll_delivery_status() -> int:
    """Ask polling-only providers about sent messages."""
    return delivery_poll_due()


@task(queue_name=TaskQueue.WEBHOOKS)
def deliver_webhooks(delivery_ids: list[int]) -> int:
    """POST these status events to the customers' webhooks (first try; retries go through retry_webhooks)."""
    return sum(1 for delivery_id in delivery_ids if webhook_deliver(delivery_id=delivery_id) is not None)


@task(queue_name=TaskQueue.WEBHOOKS)
def retry_webhooks() -> int:
    """Retry webhook deliveries whose backoff has elapsed."""
    return webhook_deliver_due()


@task(queue_name=TaskQueue.MAINTENANCE)
def refresh_fallback_notice() -> bool:
    """Withdraw the fallback notice once the primary is available again (new month, circuit closed)."""
    return notice_refresh_fallback()


@task(queue_name=TaskQueue.MAINTENANCE)
def purge_otp_delivery_bodies() -> int:
    """Clear the readable text of one-time-code messages whose code has expired."""
    return otp_delivery_bodies_purge()


@task(queue_name=TaskQueue.MAINTENANCE)
def purge_idempotency_keys() -> int:
    """Drop stored Idempotency-Key answers older than 24 hours."""
    return idempotency_purge_expired()
