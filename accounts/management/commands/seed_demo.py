"""`manage.py seed_demo`: demo data for a first run. Idempotent: running it again changes nothing that exists.

- organization `demo` with its owner owner@demo.example (password printed), 1,000 credits through the ledger;
- organization `other` with a user of its own (user@other.example), to see that tenants are apart;
- a staff account for Django admin and the privacy board (staff@demo.example);
- the provider chain on the bundled simulator: "IPROGSMS" (20 messages a month) then the "iprogtech" fallback;
- the privacy policy (version 1) and the operator organization that sends privacy one-time codes.

Accounts creates the organizations and people; every other app adds its own demo data through
`portal.hooks.demo_seeders` (credits: billing; provider chain: messaging; policy and operator organization: privacy).
"""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.demo import DEMO_ORGANIZATION_SLUG, OTHER_ORGANIZATION_SLUG
from accounts.models import Membership, Organization, User
from accounts.roles import Role
from accounts.services import organization_create
from portal import hooks

DEMO_USERS = {
    "owner@demo.example": ("Dina Demo", DEMO_ORGANIZATION_SLUG, Role.OWNER),
    "developer@demo.example": ("Dev Demo", DEMO_ORGANIZATION_SLUG, Role.DEVELOPER),
    "user@other.example": ("Oscar Other", OTHER_ORGANIZATION_SLUG, Role.OWNER),
}


class Command(BaseCommand):
    help = "Load demo organizations, users, credits and the provider chain (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow seeding when DEBUG is off")

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates accounts with known passwords; run it with DEBUG on or pass --force.")
        password = settings.DEMO_PASSWORD
        with transaction.atomic():
            organizations = {
                DEMO_ORGANIZATION_SLUG: self._organization(
                    DEMO_ORGANIZATION_SLUG, "Demo Company", "owner@demo.example", password
                ),
                OTHER_ORGANIZATION_SLUG: self._organization(
                    OTHER_ORGANIZATION_SLUG, "Other Company", "user@other.example", password
                ),
            }
            for email, (full_name, slug, role) in DEMO_USERS.items():
                user = self._user(email, full_name, password)
                Membership.objects.get_or_create(user=user, organization=organizations[slug], defaults={"role": role})
            staff = self._user("staff@demo.example", "Sam Staff", password)
            if not staff.is_staff:
                staff.is_staff = staff.is_superuser = True
                staff.save(update_fields=["is_staff", "is_superuser"])
            hooks.demo_seeders.call_all(stdout=self.stdout)  # each app's demo data, in layer order

        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Sign in at {settings.SITE_URL}/accounts/login/")
        self.stdout.write(f"  demo owner:     owner@demo.example / {password}")
        self.stdout.write(f"  demo developer: developer@demo.example / {password}")
        self.stdout.write(f"  other org user: user@other.example / {password}")
        self.stdout.write(f"  staff (admin):  staff@demo.example / {password}  -> {settings.SITE_URL}/admin/")

    def _user(self, email: str, full_name: str, password: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, full_name=full_name)
        EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return user

    def _organization(self, slug: str, name: str, owner_email: str, password: str) -> Organization:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            owner = self._user(owner_email, DEMO_USERS[owner_email][0], password)
            organization = organization_create(name=name, owner=owner, slug=slug)
        return organization
