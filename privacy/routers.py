"""Sends the erasure ledger to its own database (`erasure_ledger`) and nothing else there.

A backup restore replaces the main database; the ledger, kept apart, still knows who was erased, so
`manage.py replay_erasures` can erase them again. The ledger holds keyed hashes only, and nothing in the main
database points at it (no foreign key crosses the two).
"""

from __future__ import annotations

LEDGER_DATABASE = "erasure_ledger"
LEDGER_MODELS = frozenset({("privacy", "erasureledgerentry")})


def _is_ledger(app_label: str, model_name: str | None) -> bool:
    return (app_label, (model_name or "").lower()) in LEDGER_MODELS


class ErasureLedgerRouter:
    def db_for_read(self, model, **hints):
        return LEDGER_DATABASE if _is_ledger(model._meta.app_label, model._meta.model_name) else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        if _is_ledger(obj1._meta.app_label, obj1._meta.model_name) != _is_ledger(
            obj2._meta.app_label, obj2._meta.model_name
        ):
            return False
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if model_name is None:
            # Operations without a model (RunPython, RunSQL) run on the main database unless their hints name
            # another: the data migrations of every app expect the main database's tables.
            return db == hints.get("target_database", "default")
        if _is_ledger(app_label, model_name):
            return db == LEDGER_DATABASE
        return db != LEDGER_DATABASE
