"""Re-apply every recorded erasure, e.g. after a database backup was restored. Safe to run any number of
times."""

from django.core.management.base import BaseCommand

from privacy.data.models import ErasureLedgerEntry
from privacy.data.replay import erasures_replay


class Command(BaseCommand):
    help = "Re-apply every erasure in the erasure ledger (after restoring a backup). Idempotent; prints counts."

    def handle(self, *args, **options):
        entries = ErasureLedgerEntry.objects.count()
        result = erasures_replay()
        self.stdout.write(f"Ledger entries: {entries}")
        self.stdout.write(f"People found again and erased: {result.subjects}")
        if result.held:
            self.stdout.write(self.style.WARNING(f"Skipped under a legal hold: {result.held}"))
        for area, counts in result.per_area.items():
            self.stdout.write(f"  {area}: {counts.found} rows found, {counts.changed} changed")
        if not result.subjects:
            self.stdout.write(self.style.SUCCESS("Nothing to re-apply: no erased person is back."))
