"""Periodic jobs of the data side, merged into privacy/periodic.py's SCHEDULE (read by
run_scheduler)."""

SCHEDULE = [
    # Erasures are due every few minutes: after their grace period, after a backoff, after a hold is released.
    ("privacy.data_tasks.erasures_run_due_task", 5 * 60),
    # Retention is daily; a run only touches rows past their rule, so an extra run changes nothing.
    ("privacy.data_tasks.retention_run_task", 24 * 3600),
]
