"""Apply the retention rules now (the scheduler runs this daily), or show what would be purged."""

from django.core.management.base import BaseCommand

from privacy.data.models import RetentionCategory
from privacy.data.retention import retention_run


class Command(BaseCommand):
    help = "Delete or pseudonymise data past its retention rule. --dry-run only counts."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing")
        parser.add_argument(
            "--category",
            action="append",
            choices=RetentionCategory.values,
            help="Only this category (repeatable)",
        )

    def handle(self, *args, dry_run=False, category=None, **options):
        results = retention_run(dry_run=dry_run, categories=category)
        verb = "would purge" if dry_run else "purged"
        for result in results:
            line = (
                f"{result.category}: {verb} {result.affected} (older than {result.keep_days} days, "
                f"before {result.cutoff:%Y-%m-%d %H:%M}); held {result.held}"
            )
            if result.prepared:
                line += f"; notices {'to send' if dry_run else 'sent'}: {result.prepared}"
            if result.skipped:
                line += f" [{result.skipped}]"
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing was changed."))
