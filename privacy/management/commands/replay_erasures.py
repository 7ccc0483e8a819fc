"""Re-apply every recorded erasure after a database backup was restored. Safe to run any number of times.

The erasure ledger lives in its own database (`erasure_ledger`), out of reach of a restore of the main one; this
command finds every person it names who is back in the main database and erases them again."""

from django.core.management.base import BaseCommand

from privacy.data.models import ErasureLedgerEntry
from privacy.data.replay import erasures_replay
from privacy.routers import LEDGER_DATABASE


class Command(BaseCommand):
    help = "Re-apply every erasure in the erasure ledger (after restoring a backup). Idempotent; prints counts."

    def handle(self, *args, **options):
        entries = ErasureLedgerEntry.objects.using(LEDGER_DATABASE).count()
        result = erasures_replay()
        self.stdout.write(f"Ledger entries: {entries}")
        self.stdout.write(f"People found again and erased: {result.subjects}")
        if result.held:
            self.stdout.write(self.style.WARNING(f"Partly kept under a legal hold: {result.held}"))
        if result.jobs_restored:
            self.stdout.write(
                f"Erasures the restored database had no record of, recorded again: {result.jobs_restored}"
            )
        for area, counts in result.per_area.items():
            self.stdout.write(f"  {area}: {counts.found} rows found, {counts.changed} changed")
        if not result.subjects:
            self.stdout.write(self.style.SUCCESS("Nothing to re-apply: no erased person is back."))
