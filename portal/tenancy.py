"""Tenant-owned models fail closed: a query that is not scoped to an organization raises.

Every model with an `organization` foreign key uses `TenantManager` as its default manager. Its querysets refuse to
run (`UnscopedQueryError`, naming the model) unless the query filters on the organization, on one of the model's
declared owner fields (a person's own rows, e.g. `Membership` by `user`), or was explicitly opened with
`.unscoped()`:

    Message.objects.for_organization(org).filter(status=...)   # the normal way
    Message.objects.filter(organization=org)                    # also scoped: the filter is seen in the query
    Message.objects.unscoped().filter(status="queued")          # the one named bypass

`.unscoped()` belongs in workers, retention, erasure, admin and management commands; `grep -rn "unscoped()"` lists
every use. Known holes, as in any manager-level guard: `Model._base_manager` (Django uses it to follow a foreign
key forward), raw SQL, and a queryset embedded as a subquery of another query (the outer query is the one checked).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND, WhereNode

# Set only by `unscoped_queries()`: the admin site and code that must cross tenants wholesale.
_bypass: ContextVar[str] = ContextVar("tenancy_bypass", default="")


@contextmanager
def unscoped_queries(reason: str) -> Iterator[None]:
    """Every tenant-owned query inside the block may cross organizations (the admin site wraps its views in this).

    The reason is required so that each use says why; prefer `.unscoped()` on one queryset where that is enough.
    """
    if not reason.strip():
        raise ValueError("unscoped_queries() needs a reason")
    token = _bypass.set(reason)
    try:
        yield
    finally:
        _bypass.reset(token)


class UnscopedQueryError(RuntimeError):
    """A tenant-owned model was queried without an organization (or owner) filter and without `.unscoped()`."""


def _scoped_by(where: WhereNode, field_names: tuple[str, ...]) -> bool:
    """True when an AND-branch of the WHERE clause pins one of `field_names` with `=` or `IN`."""
    if where.connector != AND or where.negated:
        return False
    for child in where.children:
        if isinstance(child, WhereNode):
            if _scoped_by(child, field_names):
                return True
            continue
        if isinstance(child, Exact | In):
            target = getattr(child.lhs, "target", None)
            if target is not None and target.name in field_names and child.rhs is not None:
                return True
    return False


class TenantQuerySet(models.QuerySet):
    # Fields whose filter makes a query safe: the organization, plus owner fields a model declares.
    scope_fields: tuple[str, ...] = ("organization",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_bypass = False

    def _clone(self):
        clone = super()._clone()
        clone._tenant_bypass = self._tenant_bypass
        clone.scope_fields = self.scope_fields
        return clone

    def for_organization(self, organization) -> TenantQuerySet:
        organization_id = getattr(organization, "pk", organization)
        if organization_id is None:
            raise UnscopedQueryError(f"{self.model._meta.label}: for_organization() needs a saved organization.")
        return self.filter(organization_id=organization_id)

    def unscoped(self) -> TenantQuerySet:
        """Every organization's rows. For workers, retention, erasure, admin and management commands only."""
        clone = self._chain()
        clone._tenant_bypass = True
        return clone

    def is_scoped(self) -> bool:
        return self._tenant_bypass or bool(_bypass.get()) or _scoped_by(self.query.where, self.scope_fields)

    def _require_scope(self) -> None:
        if not self.is_scoped():
            raise UnscopedQueryError(
                f"{self.model._meta.label} is tenant-owned: scope the query with .for_organization(org) "
                f"(or filter on {' / '.join(self.scope_fields)}), or name the bypass with .unscoped()."
            )

    # Every way a queryset reaches the database goes through one of these.
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any):
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any):
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self):
        self._require_scope()
        return super().delete()

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant-owned models. `scope_fields` adds owner fields that also scope a query."""

    def __init__(self, *, scope_fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._extra_scope_fields = tuple(scope_fields)

    def deconstruct(self):
        # Migrations record the manager by path only; the scope fields are code, not schema.
        legacy, path, qs_class, args, kwargs = super().deconstruct()
        return legacy, path, qs_class, args, {}

    def contribute_to_class(self, cls, name):
        super().contribute_to_class(cls, name)
        # Kept on the model: Django builds related managers (user.memberships) from this class without arguments.
        cls._tenant_scope_fields = ("organization", *self._extra_scope_fields)

    def get_queryset(self) -> TenantQuerySet:
        queryset = super().get_queryset()
        queryset.scope_fields = getattr(self.model, "_tenant_scope_fields", TenantQuerySet.scope_fields)
        return queryset


def is_tenant_owned(model: type[models.Model]) -> bool:
    """A model is tenant-owned when it has a foreign key (or one-to-one key) named `organization`."""
    try:
        field = model._meta.get_field("organization")
    except FieldDoesNotExist:
        return False
    return field.many_to_one or field.one_to_one
