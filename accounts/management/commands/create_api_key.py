"""`manage.py create_api_key ORG_SLUG --name NAME [--scope send --scope read ...]`: prints the full key alone on
stdout, exactly once. Without --scope the key gets every scope (what keys could always do)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from accounts.roles import Scope
from accounts.services import api_key_create
from portal.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API key for an organization and print the full key (only on stdout, only this once)."

    def add_arguments(self, parser):
        parser.add_argument("organization_slug")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'billing server'")
        parser.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            dest="scopes",
            help="What the key may do; repeat for several. Default: every scope.",
        )

    def handle(self, *args, organization_slug: str, name: str, scopes: list[str] | None = None, **options):
        organization = Organization.objects.filter(slug=organization_slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {organization_slug!r}.")
        try:
            api_key, raw_key = api_key_create(organization=organization, actor=None, name=name, scopes=scopes)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stderr.write(
            f"Created key {api_key.prefix}… '{api_key.name}' for {organization.slug} "
            f"(scopes: {', '.join(api_key.scopes)}). Store it now."
        )
        self.stdout.write(raw_key)
