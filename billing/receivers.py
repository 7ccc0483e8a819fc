"""Billing's answers to the hooks of the layers below it (`portal.hooks`), registered in `BillingConfig.ready`."""

from decimal import Decimal

from accounts.demo import DEMO_ORGANIZATION_SLUG, OTHER_ORGANIZATION_SLUG
from accounts.models import Organization
from billing.checkout import DEMO_PACKS, credit_packs_seed_demo
from billing.models import CreditAccount
from billing.rate_limits import plan_rate_limits
from billing.services import credits_grant_demo
from portal import hooks, throttling

DEMO_CREDITS = {DEMO_ORGANIZATION_SLUG: Decimal("1000"), OTHER_ORGANIZATION_SLUG: Decimal("200")}


def demo_credits_grant(*, stdout) -> None:
    """Demo data: credits for the demo organizations, through the ledger, once."""
    for slug, amount in DEMO_CREDITS.items():
        organization = Organization.objects.filter(slug=slug).first()
        if organization is not None:
            credits_grant_demo(organization=organization, amount=amount)


def demo_credit_packs(*, stdout) -> None:
    """Demo data: credit packs on the billing page, bought through the PayMongo simulator under `make run`."""
    if credit_packs_seed_demo():
        stdout.write("Credit packs on sale: " + ", ".join(name for name, _ in DEMO_PACKS))


def credit_account_open(*, organization_id: int, **kwargs) -> None:
    """A new organization has its credit account (at zero) from the start, so staff can adjust it at once."""
    CreditAccount.objects.get_or_create(organization_id=organization_id)


def register() -> None:
    """Connect every answer; called once from `BillingConfig.ready` (idempotent)."""
    hooks.organization_created.connect(credit_account_open, dispatch_uid="billing.credit_account_open")
    hooks.demo_seeders.register(demo_credits_grant)
    hooks.demo_seeders.register(demo_credit_packs)
    throttling.organization_rate_limits.register(plan_rate_limits)
