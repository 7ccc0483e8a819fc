"""Periodic billing jobs. `manage.py run_scheduler` reads this SCHEDULE."""

SCHEDULE = [
    (
        "billing.tasks.billing_audit_run",
        24 * 60 * 60,
    ),  # daily ledger audit; e-mails staff on a difference
]
