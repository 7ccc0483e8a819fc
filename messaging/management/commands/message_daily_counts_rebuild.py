"""Recount the dashboard's daily message counts from the messages (after messages were written around the
services, e.g. loaded with SQL). Safe while the portal runs: see `daily_counts_rebuild`."""

from django.core.management.base import BaseCommand

from messaging.services.daily_counts import daily_counts_rebuild


class Command(BaseCommand):
    help = "Recount MessageDailyCount from the messages (every organization, or --organization ID)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", type=int, help="only this organization's counts")

    def handle(self, *args, **options):
        written = daily_counts_rebuild(organization_id=options["organization"])
        self.stdout.write(f"{written} daily count rows written")
