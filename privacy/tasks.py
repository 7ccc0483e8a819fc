"""Background tasks of policy versions that a service enqueues after commit (ids only).

The periodic jobs of the whole app are tasks of `privacy.periodic`.
"""

from django_tasks import task

from portal.queues import TaskQueue
from privacy.policy_notifications import policy_notify_users


@task(queue_name=TaskQueue.MAINTENANCE)
def policy_notify_users_task(*, policy_version_id: int) -> int:
    return policy_notify_users(policy_version_id=policy_version_id)
