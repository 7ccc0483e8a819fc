"""Background work for privacy requests and policy versions: thin wrappers that load by id and call a
service."""

from django_tasks import task

from privacy import services


@task()
def request_message_deliver_task(*, message_id: int) -> None:
    services.request_message_deliver(message_id=message_id)


@task()
def policy_notify_users_task(*, policy_version_id: int) -> int:
    return services.policy_notify_users(policy_version_id=policy_version_id)


# --- periodic (no arguments; idempotent: each run sends only what was not sent before) ---


@task()
def policy_notifications_resume_task() -> int:
    return services.policy_notifications_resume()


@task()
def requests_expire_unverified_task() -> int:
    return services.requests_expire_unverified()


@task()
def requests_remind_unverified_task() -> int:
    return services.requests_remind_unverified()


@task()
def requests_send_due_reminders_task() -> int:
    return services.requests_send_due_reminders()


@task()
def requests_alert_stuck_steps_task() -> int:
    return services.requests_alert_stuck_steps()


@task()
def requests_escalate_overdue_task() -> int:
    return services.requests_escalate_overdue()
