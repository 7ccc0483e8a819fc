"""Price plans cached per process: every send read the organization's plan (and the default one) before pricing.

It changes when staff edit a plan or make another one the default (admin, `billing.price_plans`), so the entry is
dropped on every PricePlan save or delete and by `price_plan_make_default` in this process, and lives at most
`DEFAULT_PLAN_CACHE_SECONDS` in the others (a per-process cache such as locmem cannot be cleared across
processes; a shared one such as Redis is cleared at once).

The plan that prices an organization's sends (its own, or the default) is cached the same way, under a generation
that every plan change in this process moves on, and dropped when its credit account is saved. Which plan the
account names is never taken from the cache on trust: the charge's UPDATE matches only while the account still
names the cached plan (`billing.charging`), and reprices with the fresh plan otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from billing.models import CreditAccount, PricePlan

DEFAULT_PLAN_CACHE_KEY = "billing:default-price-plan:v1"
DEFAULT_PLAN_CACHE_SECONDS = 10


@dataclass(frozen=True)
class SendPricing:
    """The plan that prices an organization's messages and the plan its credit account names (None: the default)."""

    plan: PricePlan
    account_plan_id: int | None


_generation = 0  # moved on by every plan change in this process: the organizations' entries before it are unused


def _organization_key(organization_id: int) -> str:
    return f"billing:organization-plan:v1:{_generation}:{int(organization_id)}"


def organization_plan_cached(*, organization_id: int, load: Callable[[], SendPricing]) -> SendPricing:
    """The plan pricing the organization's sends, from the cache, else `load()` (kept for the next sends)."""
    key = _organization_key(organization_id)
    plan = cache.get(key)
    if plan is None:
        plan = load()
        cache.set(key, plan, DEFAULT_PLAN_CACHE_SECONDS)
    return plan


def organization_plan_forget(*, organization_id: int) -> None:
    cache.delete(_organization_key(organization_id))


def default_plan_cached(load: Callable[[], PricePlan]) -> PricePlan:
    """The default plan from the cache, else `load()` (kept for the next sends)."""
    plan = cache.get(DEFAULT_PLAN_CACHE_KEY)
    if plan is None:
        plan = load()
        cache.set(DEFAULT_PLAN_CACHE_KEY, plan, DEFAULT_PLAN_CACHE_SECONDS)
    return plan


def default_plan_forget() -> None:
    global _generation
    _generation += 1
    cache.delete(DEFAULT_PLAN_CACHE_KEY)


@receiver(post_save, sender=PricePlan, dispatch_uid="billing_default_plan_forget_on_save")
@receiver(post_delete, sender=PricePlan, dispatch_uid="billing_default_plan_forget_on_delete")
def _plan_changed(sender, **kwargs) -> None:
    # Cache upkeep only: what a plan change means for prices stays in the services.
    default_plan_forget()


@receiver(post_save, sender=CreditAccount, dispatch_uid="billing_organization_plan_forget_on_save")
def _account_saved(sender, instance: CreditAccount, **kwargs) -> None:
    organization_plan_forget(organization_id=instance.organization_id)
