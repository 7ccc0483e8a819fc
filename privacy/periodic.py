"""Periodic privacy jobs: the tasks `manage.py run_scheduler` enqueues, and how often (SCHEDULE).

Every job is idempotent (reminders and escalations are recorded in `ReminderSent` with a unique key), so running it
more often than needed sends nothing twice: the daily escalation runs hourly but its key is the calendar day.
The tasks sit here, above every service (nothing imports this module), so a job may enqueue other work freely.
"""

from django_tasks import task

from portal.queues import TaskQueue
from privacy.data.erasure_run import erasures_run_due
from privacy.data.retention import retention_rules_ensure, retention_run
from privacy.policy_notifications import policy_notifications_resume
from privacy.requests import reminders

HOUR = 3600


@task(queue_name=TaskQueue.MAINTENANCE)
def requests_expire_unverified_task() -> int:
    return reminders.requests_expire_unverified()


@task(queue_name=TaskQueue.MAINTENANCE)
def requests_remind_unverified_task() -> int:
    return reminders.requests_remind_unverified()


@task(queue_name=TaskQueue.MAINTENANCE)
def requests_send_due_reminders_task() -> int:
    return reminders.requests_send_due_reminders()


@task(queue_name=TaskQueue.MAINTENANCE)
def requests_send_first_answer_reminders_task() -> int:
    return reminders.requests_send_first_answer_reminders()


@task(queue_name=TaskQueue.MAINTENANCE)
def requests_alert_stuck_steps_task() -> int:
    return reminders.requests_alert_stuck_steps()


@task(queue_name=TaskQueue.MAINTENANCE)
def requests_escalate_overdue_task() -> int:
    return reminders.requests_escalate_overdue()


@task(queue_name=TaskQueue.MAINTENANCE)
def policy_notifications_resume_task() -> int:
    return policy_notifications_resume()


@task(queue_name=TaskQueue.MAINTENANCE)
def erasures_run_due_task() -> int:
    """Erasures whose grace period ended, areas waiting for a retry, and erasures whose legal hold was
    released."""
    return erasures_run_due()


@task(queue_name=TaskQueue.MAINTENANCE)
def retention_run_task() -> dict[str, int]:
    retention_rules_ensure()
    return {result.category: result.affected for result in retention_run()}


SCHEDULE = [
    ("privacy.periodic.requests_expire_unverified_task", HOUR),
    ("privacy.periodic.requests_remind_unverified_task", HOUR),
    ("privacy.periodic.requests_send_due_reminders_task", HOUR),
    ("privacy.periodic.requests_send_first_answer_reminders_task", HOUR),
    ("privacy.periodic.requests_alert_stuck_steps_task", HOUR),
    ("privacy.periodic.requests_escalate_overdue_task", HOUR),
    # Policy-change e-mails that stopped part-way (mail server down) resume where they stopped.
    ("privacy.periodic.policy_notifications_resume_task", HOUR),
    # Erasures are due every few minutes: after their grace period, after a backoff, after a hold is released.
    ("privacy.periodic.erasures_run_due_task", 5 * 60),
    # Retention is daily; a run only touches rows past their rule, so an extra run changes nothing.
    ("privacy.periodic.retention_run_task", 24 * 3600),
]
