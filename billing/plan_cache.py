"""The default price plan, cached per process: every send of an organization without a plan of its own read it.

It changes when staff edit a plan or make another one the default (admin, `billing.price_plans`), so the entry is
dropped on every PricePlan save or delete and by `price_plan_make_default` in this process, and lives at most
`DEFAULT_PLAN_CACHE_SECONDS` in the others (a per-process cache such as locmem cannot be cleared across
processes; a shared one such as Redis is cleared at once). An organization's own plan is not cached: it comes with
its credit account in the same SELECT.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from billing.models import PricePlan

DEFAULT_PLAN_CACHE_KEY = "billing:default-price-plan:v1"
DEFAULT_PLAN_CACHE_SECONDS = 10


def default_plan_cached(load: Callable[[], PricePlan]) -> PricePlan:
    """The default plan from the cache, else `load()` (kept for the next sends)."""
    plan = cache.get(DEFAULT_PLAN_CACHE_KEY)
    if plan is None:
        plan = load()
        cache.set(DEFAULT_PLAN_CACHE_KEY, plan, DEFAULT_PLAN_CACHE_SECONDS)
    return plan


def default_plan_forget() -> None:
    cache.delete(DEFAULT_PLAN_CACHE_KEY)


@receiver(post_save, sender=PricePlan, dispatch_uid="billing_default_plan_forget_on_save")
@receiver(post_delete, sender=PricePlan, dispatch_uid="billing_default_plan_forget_on_delete")
def _plan_changed(sender, **kwargs) -> None:
    # Cache upkeep only: what a plan change means for prices stays in the services.
    default_plan_forget()
