"""The background-task queues, declared once: settings build the task backends from them, `manage.py task_worker`
serves them, and each `@task(queue_name=...)` names one.

A worker that serves every queue takes the next job from the first queue that has one, in the order below: one-time
codes before message dispatch before customer webhooks before housekeeping. Operators who need more throughput on one
kind of work start workers for that queue alone (`manage.py task_worker --queue send`).
"""

from django.db.models import TextChoices


class TaskQueue(TextChoices):
    # Declaration order is the serving order of an all-queues worker.
    OTP = "otp", "One-time codes"
    SEND = "send", "Message dispatch"
    WEBHOOKS = "webhooks", "Customer webhooks and notification e-mails"
    MAINTENANCE = "maintenance", "Housekeeping and periodic jobs"
    # Tasks declared without a queue land here (django-tasks' default name); served last.
    DEFAULT = "default", "Tasks not given a queue"


QUEUES_IN_PRIORITY_ORDER: list[str] = list(TaskQueue.values)

# Seconds a single RQ job may run before the worker stops it (the database backend has no limit). A dispatch job
# stopped mid-batch is recovered like a crashed worker (`reconcile_in_flight`).
JOB_TIMEOUT_SECONDS: dict[str, int] = {
    TaskQueue.OTP: 300,
    TaskQueue.SEND: 1800,
    TaskQueue.WEBHOOKS: 600,
    TaskQueue.MAINTENANCE: 3600,
    TaskQueue.DEFAULT: 1800,
}

DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_BACKEND = "django_tasks_rq.RQBackend"
IMMEDIATE_BACKEND = "django_tasks.backends.immediate.ImmediateBackend"
# The job class RQ workers must load jobs with: django-tasks-rq stores a Task, which RQ's own Job cannot call.
RQ_JOB_CLASS = "django_tasks_rq.Job"


def task_backends(backend_path: str) -> dict:
    """The TASKS setting for one backend, with every queue declared."""
    return {"default": {"BACKEND": backend_path, "QUEUES": list(QUEUES_IN_PRIORITY_ORDER)}}


def rq_queues(redis_url: str) -> dict:
    """The RQ_QUEUES setting (django-rq): every queue on the same Redis."""
    return {name: {"URL": redis_url, "DEFAULT_TIMEOUT": JOB_TIMEOUT_SECONDS[name]} for name in QUEUES_IN_PRIORITY_ORDER}
