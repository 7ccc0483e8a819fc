"""Privacy's answers to the hooks of the layers below it (`portal.hooks`), registered in `PrivacyConfig.ready`."""

import dataclasses
from decimal import Decimal

from django.core.management import call_command

from billing.services import credits_grant_demo
from portal import hooks
from portal.databases import postgresql_database_create_missing
from privacy.checks import erasure_ledger_findings
from privacy.data.objections import excepted_numbers, suppressed_lookup, user_objects_to
from privacy.metrics import register_collectors
from privacy.policy import privacy_seed_policy
from privacy.policy_banner import policy_banner_cache_connect
from privacy.requests.intake import privacy_operator_organization
from privacy.routers import LEDGER_DATABASE

OPERATOR_DEMO_CREDITS = Decimal("500")


def register() -> None:
    """Connect every answer; called once from `PrivacyConfig.ready` (idempotent)."""
    hooks.processing_objections.register(person_objects_to)
    hooks.demo_seeders.register(demo_policy_and_operator_seed)
    hooks.send_suppressions.register(numbers_not_to_send_to)
    hooks.readiness_checks.register(erasure_ledger_readiness)
    register_collectors()
    policy_banner_cache_connect()  # the banner's policy versions are cached briefly: dropped when one changes


def erasure_ledger_readiness() -> list[tuple[str, bool, str]]:
    """Not ready while the erasure ledger cannot be read or an erased person is back (replay_erasures first)."""
    return erasure_ledger_findings()


def person_objects_to(*, user_id: int, kind: str) -> bool:
    """True when the person has an active objection to this optional processing (an unknown kind raises)."""
    return user_objects_to(user_id=user_id, processing=kind)


def numbers_not_to_send_to(*, organization_id: int, numbers: list[str]) -> hooks.SuppressionLookup | None:
    """The query for the numbers whose owners asked not to receive messages. Suppressions hold for every
    organization; the one exception is a proof code the holder asked the operator for themself (privacy centre),
    for its lifetime (asked only about numbers found suppressed)."""
    lookup = suppressed_lookup(phone_numbers=numbers)
    if lookup is None:
        return None
    return dataclasses.replace(
        lookup,
        narrow=lambda found: found - excepted_numbers(organization_id=organization_id, phone_numbers=found),
    )


def demo_policy_and_operator_seed(*, stdout) -> None:
    """Demo data: the privacy policy (version 1) and the operator organization, with credits for the one-time
    codes that verify privacy requests by SMS. The erasure ledger's own database is created when missing (on
    PostgreSQL) and migrated first, so that `make run` (which migrates the main database) can erase."""
    postgresql_database_create_missing(alias=LEDGER_DATABASE)
    call_command("migrate", database=LEDGER_DATABASE, interactive=False, verbosity=0)
    privacy_seed_policy()
    credits_grant_demo(organization=privacy_operator_organization(), amount=OPERATOR_DEMO_CREDITS)
