"""Periodic billing jobs. `manage.py run_scheduler` reads this SCHEDULE."""

SCHEDULE = [
    (
        "billing.tasks.billing_audit_run",
        24 * 60 * 60,
    ),  # daily ledger audit; e-mails staff on a difference
    (
        "billing.checkout_tasks.checkouts_reconcile_run",
        10 * 60,
    ),  # online checkouts whose webhook never came, or expired
]
