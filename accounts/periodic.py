"""Periodic jobs of the accounts app, read by `manage.py run_scheduler`; billing keeps its own list."""

from accounts.billing.periodic import SCHEDULE

__all__ = ["SCHEDULE"]
