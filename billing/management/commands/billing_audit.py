"""`manage.py billing_audit`: prove that every organization's balance equals the sum of its ledger.

Checks, for every organization with a credit account or a ledger entry: balance == sum of ledger amounts; the
last entry's balance_after == that sum; each entry's balance_after == previous balance_after + amount; the
cached usage of the current month == the ledger's. Prints each difference and exits with status 1 if there is any.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.selectors import billing_audit_differences


class Command(BaseCommand):
    help = "Check that every balance equals the sum of its ledger; exit non-zero on any difference."

    def handle(self, *args, **options):
        differences = billing_audit_differences()
        for difference in differences:
            self.stderr.write(f"DIFFERENCE {difference}")
        if differences:
            raise CommandError(f"billing audit failed: {len(differences)} difference(s)")
        self.stdout.write(self.style.SUCCESS("billing audit passed: every balance equals the sum of its ledger"))
