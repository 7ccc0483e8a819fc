"""The enabled routes as accepting a message needs them (id and sender name), cached per process.

Every send asked the database for the same few rows. They change when staff edit a provider (admin or a
service), so the cache is dropped on every save or delete of a Provider in this process, and lives at most
`CHAIN_CACHE_SECONDS` in the others (a per-process cache such as locmem cannot be cleared across processes; a
shared one such as Redis is cleared at once). A stale entry only decides which sender names are accepted: the
worker routes every message on fresh rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from messaging.models import Provider

CHAIN_CACHE_KEY = "messaging:enabled-chain:v1"
CHAIN_CACHE_SECONDS = 10


@dataclass(frozen=True)
class ChainRoute:
    pk: int
    sender_name: str


def enabled_chain() -> list[ChainRoute]:
    """The enabled providers in priority order (possibly up to CHAIN_CACHE_SECONDS old in other processes)."""
    chain = cache.get(CHAIN_CACHE_KEY)
    if chain is None:
        rows = Provider.objects.filter(enabled=True).order_by("priority", "id").values_list("id", "sender_name")
        chain = [ChainRoute(pk=pk, sender_name=sender_name) for pk, sender_name in rows]
        cache.set(CHAIN_CACHE_KEY, chain, CHAIN_CACHE_SECONDS)
    return chain


def enabled_chain_forget() -> None:
    cache.delete(CHAIN_CACHE_KEY)


@receiver(post_save, sender=Provider, dispatch_uid="provider_chain_forget_on_save")
@receiver(post_delete, sender=Provider, dispatch_uid="provider_chain_forget_on_delete")
def _provider_changed(sender, **kwargs) -> None:
    # Cache upkeep only: what a provider change means for sending stays in the services.
    enabled_chain_forget()
