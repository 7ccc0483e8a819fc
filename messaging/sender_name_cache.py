"""An organization's default sender name, cached per process: every API send naming no sender read it.

It changes when a sender name is approved, rejected, made the default or deleted, always through a save or delete
of a SenderName (`messaging.sender_names`), so the organization's entry is dropped on each in this process and
lives at most `DEFAULT_SENDER_CACHE_SECONDS` in the others (per-process locmem cannot be cleared across processes;
a shared cache such as Redis is cleared at once). A name the request asks for is still checked on fresh rows.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Organization
from messaging.models_sender import SenderName
from messaging.sender_names import sender_name_default

DEFAULT_SENDER_CACHE_SECONDS = 10


def _cache_key(organization_id: int) -> str:
    return f"messaging:default-sender:v1:{int(organization_id)}"


def sender_name_default_cached(*, organization: Organization) -> str:
    """The organization's approved default sender name ("" = none), possibly a few seconds old."""
    key = _cache_key(organization.pk)
    name = cache.get(key)
    if name is None:
        name = sender_name_default(organization=organization)
        cache.set(key, name, DEFAULT_SENDER_CACHE_SECONDS)
    return name


@receiver(post_save, sender=SenderName, dispatch_uid="sender_name_default_forget_on_save")
@receiver(post_delete, sender=SenderName, dispatch_uid="sender_name_default_forget_on_delete")
def _sender_name_changed(sender, instance: SenderName, **kwargs) -> None:
    # Cache upkeep only: what a sender name decision means stays in messaging.sender_names.
    cache.delete(_cache_key(instance.organization_id))
