"""`manage.py credits_adjust ORG_SLUG AMOUNT --reason TEXT`: add (or, with a negative amount, remove) credits.

Goes through `billing.services.credits_adjust`, so it writes one ledger entry and an audit record,
and a removal that would overdraw the balance is refused (exit status 1, nothing written).
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization, User
from billing.money import parse_decimal
from billing.services import credits_adjust
from portal.errors import ApplicationError


class Command(BaseCommand):
    help = "Add (positive AMOUNT) or remove (negative AMOUNT) credits for an organization, with a reason."

    def add_arguments(self, parser):
        parser.add_argument("organization", metavar="ORG_SLUG")
        parser.add_argument("amount", metavar="AMOUNT", help="credits, e.g. 500 or -12.50")
        parser.add_argument("--reason", required=True, help="why; kept in the ledger and the audit log")
        parser.add_argument("--actor", metavar="EMAIL", help="staff user to record as the actor")

    def handle(self, *args, organization, amount, reason, actor=None, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug {organization!r}.")
        try:
            value = parse_decimal(amount)
        except ValueError as exc:
            raise CommandError(f"AMOUNT: {exc}.")
        user = None
        if actor:
            user = User.objects.filter(email__iexact=actor).first()
            if user is None:
                raise CommandError(f"No user with e-mail {actor!r}.")
        try:
            entry = credits_adjust(
                organization=org, actor=user, amount=value, reason=reason, via="credits_adjust command"
            )
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            self.style.SUCCESS(f"{org.slug}: {entry.amount:+} credits ({reason}); balance now {entry.balance_after}")
        )
