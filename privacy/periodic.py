"""Periodic privacy jobs, read by `manage.py run_scheduler`: (dotted task path, interval in seconds).

Every job is idempotent (reminders and escalations are recorded in `ReminderSent` with a unique key), so
running it more often than needed sends nothing twice: the daily escalation runs hourly but its key is the calendar day.
"""

from privacy.data_periodic import SCHEDULE as DATA_SCHEDULE

HOUR = 3600

SCHEDULE = [
    ("privacy.tasks.requests_expire_unverified_task", HOUR),
    ("privacy.tasks.requests_remind_unverified_task", HOUR),
    ("privacy.tasks.requests_send_due_reminders_task", HOUR),
    ("privacy.tasks.requests_alert_stuck_steps_task", HOUR),
    ("privacy.tasks.requests_escalate_overdue_task", HOUR),
    # Policy-change e-mails that stopped part-way (mail server down) resume where they stopped.
    ("privacy.tasks.policy_notifications_resume_task", HOUR),
    *DATA_SCHEDULE,
]
