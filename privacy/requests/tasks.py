"""Background tasks that the request services enqueue after commit: they take ids and call the work they name.

The periodic jobs (reminders, expiry, escalation) are tasks of `privacy.periodic`.
"""

from django_tasks import task

from portal.queues import TaskQueue
from privacy.requests.delivery import request_message_deliver


@task(queue_name=TaskQueue.WEBHOOKS)
def request_message_deliver_task(*, message_id: int) -> None:
    request_message_deliver(message_id=message_id)
