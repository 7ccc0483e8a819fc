"""Cached reads that a change of their rows must drop."""

from __future__ import annotations

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save


def drop_on_change(*, model: type[models.Model], key: str, uid: str) -> None:
    """Delete `key` from the cache whenever a `model` row is saved or deleted in this process: at once, and again
    once the change is committed (a read between the two would cache the old rows). Idempotent (`uid`)."""

    def dropped(sender, **kwargs) -> None:
        cache.delete(key)
        transaction.on_commit(lambda: cache.delete(key), robust=True)

    post_save.connect(dropped, sender=model, dispatch_uid=f"{uid}_on_save", weak=False)
    post_delete.connect(dropped, sender=model, dispatch_uid=f"{uid}_on_delete", weak=False)
