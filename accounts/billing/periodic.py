"""Periodic billing jobs. accounts/periodic.py re-exports this SCHEDULE for the scheduler."""

SCHEDULE = [
    (
        "accounts.billing.tasks.billing_audit_run",
        24 * 60 * 60,
    ),  # daily ledger audit; e-mails staff on a difference
]
