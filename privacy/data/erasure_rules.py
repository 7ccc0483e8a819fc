"""Applying the registry's erasure rules to the rows a finder reaches: delete the row, empty, hash or scrub a
column, or set a constant. Work goes in primary-key batches: bounded memory, safe while rows change or go."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q

from portal.crypto import keyed_hash
from portal.personal_data import Erase, Finder, PersonalData, Strategy
from privacy.data.subjects import Subject, finder_queryset

ERASED_HASH_PURPOSE = "privacy.erased"
SCRUB_REPLACEMENT = "[erased]"
BATCH_SIZE = 500


def _empty_value(model_field: models.Field) -> Any:
    if model_field.null:
        return None
    if isinstance(model_field, models.JSONField):
        default = model_field.get_default()
        return type(default)() if isinstance(default, dict | list) else {}
    if isinstance(model_field, models.CharField | models.TextField):
        return ""
    raise ValueError(f"{model_field.model._meta.label}.{model_field.name} cannot be emptied (not null, not text)")


def erased_hash(value: str, *, max_length: int | None) -> str:
    """A pseudonym for an erased value: equal inputs stay equal (counts, joins), the input is not
    recoverable."""
    digest = keyed_hash(value, purpose=ERASED_HASH_PURPOSE)
    prefix = "h:"
    width = len(digest) if max_length is None else max(8, min(len(digest), max_length - len(prefix)))
    return prefix + digest[:width]


def scrub(value: Any, identifiers: Iterable[str]) -> Any:
    """Remove every identifier from a string, or from every string (keys too) inside JSON data."""
    patterns = [re.compile(re.escape(identifier), re.IGNORECASE) for identifier in identifiers if identifier]
    if not patterns:
        return value

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            for pattern in patterns:
                item = pattern.sub(SCRUB_REPLACEMENT, item)
            return item
        if isinstance(item, dict):
            return {clean(key): clean(val) for key, val in item.items()}
        if isinstance(item, list):
            return [clean(val) for val in item]
        return item

    return clean(value)


def _row_value(model_field: models.Field, rule: Erase, obj: models.Model, subject: Subject) -> Any:
    current = getattr(obj, model_field.attname)
    if rule.strategy == Strategy.HASH:
        if current in (None, ""):
            return current
        if isinstance(current, str) and current.startswith("h:"):
            return current
        text = subject.phone if subject.phone and current in subject.phone_variants() else current
        return erased_hash(str(text), max_length=getattr(model_field, "max_length", None))
    if rule.strategy == Strategy.SCRUB:
        return scrub(current, subject.identifiers())
    if rule.strategy == Strategy.CONSTANT:
        return rule.value.format(pk=obj.pk)
    raise ValueError(rule.strategy)


@dataclass
class Counts:
    found: int = 0
    changed: int = 0
    held: int = 0  # rows a legal hold kept
    held_by: set[int] = field(default_factory=set)  # ids of those holds

    def add(self, other: Counts) -> None:
        self.found += other.found
        self.changed += other.changed
        self.held += other.held
        self.held_by |= other.held_by


def _pk_batches(qs: models.QuerySet, batch_size: int = BATCH_SIZE):
    """Primary keys in ascending batches (keyset pagination): bounded memory, safe while rows change or go."""
    last = None
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        pks = list(page.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        yield pks
        last = pks[-1]


def apply_finder(entry: PersonalData, finder: Finder, subject: Subject, *, exclude: Q | None = None) -> Counts:
    """Apply the finder's rule to the subject's rows, except those `exclude` selects (a legal hold keeps them)."""
    qs = finder_queryset(entry, finder, subject)
    if qs is None:
        return Counts()
    if exclude is not None:
        qs = qs.exclude(exclude)
    model = entry.model_class
    counts = Counts()
    if isinstance(finder.erase, Erase):
        if finder.erase.strategy != Strategy.DELETE_ROW:
            raise ValueError(f"{entry.model}: a whole-row rule must be DELETE_ROW")
        for pks in _pk_batches(qs):
            counts.found += len(pks)
            model._base_manager.filter(pk__in=pks).delete()
            counts.changed += len(pks)
        return counts
    bulk: dict[str, Any] = {}
    per_row: dict[models.Field, Erase] = {}
    for name, rule in finder.erase_fields().items():
        model_field = model._meta.get_field(name)
        if rule.strategy == Strategy.KEEP:
            continue
        if rule.strategy == Strategy.NULL:
            bulk[model_field.attname] = _empty_value(model_field)
        elif rule.strategy == Strategy.CONSTANT and not (isinstance(rule.value, str) and "{pk}" in rule.value):
            bulk[model_field.attname] = rule.value
        elif rule.strategy == Strategy.DELETE_ROW:
            raise ValueError(f"{entry.model}.{name}: DELETE_ROW applies to rows, not fields")
        else:
            per_row[model_field] = rule
    for pks in _pk_batches(qs):
        counts.found += len(pks)
        if not bulk and not per_row:
            continue
        if per_row:
            objs = list(model._base_manager.filter(pk__in=pks).only("pk", *[f.name for f in per_row]))
            for obj in objs:
                for model_field, rule in per_row.items():
                    setattr(obj, model_field.attname, _row_value(model_field, rule, obj, subject))
            model._base_manager.bulk_update(objs, [f.name for f in per_row])
        if bulk:
            model._base_manager.filter(pk__in=pks).update(**bulk)
        counts.changed += len(pks)
    return counts
