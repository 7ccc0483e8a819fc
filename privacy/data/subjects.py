"""The person a data step is about (`Subject`), and how a declared finder reaches that person's rows.

A subject is a user id, an e-mail address and an E.164 phone number, any of which may be missing. A phone number
is matched as every column may spell it (+639171234567, 639171234567, 09171234567).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q

from portal.crypto import EncryptedTextField, LookupHashField, keyed_hash, phone_lookup_hash
from portal.personal_data import By, Finder, PersonalData
from privacy.data.models import EMAIL_HASH_PURPOSE, PHONE_HASH_PURPOSE, DataExport, ErasureJob
from privacy.data.objections import canonical_phone


@dataclass(frozen=True)
class Subject:
    user_id: int | None = None
    email: str = ""
    phone: str = ""  # E.164

    @classmethod
    def build(cls, *, user_id: int | None, email: str = "", phone: str = "") -> Subject:
        return cls(
            user_id=user_id,
            email=(email or "").strip().lower(),
            phone=canonical_phone(phone) if (phone or "").strip() else "",
        )

    @property
    def email_hash(self) -> str:
        return keyed_hash(self.email, purpose=EMAIL_HASH_PURPOSE) if self.email else ""

    @property
    def phone_hash(self) -> str:
        return keyed_hash(self.phone, purpose=PHONE_HASH_PURPOSE) if self.phone else ""

    def phone_variants(self) -> list[str]:
        """How the number may be written in a column: +639171234567, 639171234567, 09171234567."""
        if not self.phone:
            return []
        variants = [self.phone]
        if self.phone.startswith("+"):
            variants.append(self.phone[1:])
        if self.phone.startswith("+63"):
            variants.append("0" + self.phone[3:])
        return variants

    def identifiers(self) -> list[str]:
        """Strings that must not survive anywhere, longest first (so a variant inside another is replaced
        once)."""
        return sorted({value for value in [self.email, *self.phone_variants()] if value}, key=len, reverse=True)


def _lookup_hash_column(model: type[models.Model] | None, path: str) -> tuple[str, LookupHashField] | None:
    """(path to the keyed-hash column, that column) when the finder's column is encrypted: ciphertext never
    matches a value, its lookup hash does."""
    if model is None:
        return None
    parts = path.split("__")
    current = model
    for part in parts[:-1]:
        current = current._meta.get_field(part).related_model
    target = current._meta.get_field(parts[-1])
    if not isinstance(target, EncryptedTextField):
        return None
    for candidate in current._meta.concrete_fields:
        if isinstance(candidate, LookupHashField) and candidate.source == target.name:
            return "__".join([*parts[:-1], candidate.name]), candidate
    raise ValueError(f"{current._meta.label}.{target.name} is encrypted and has no lookup hash to find people by")


def finder_q(finder: Finder, subject: Subject, model: type[models.Model] | None = None) -> Q | None:
    """The rows of `model` the finder reaches for the subject (`model` is needed for encrypted columns)."""
    hashed = _lookup_hash_column(model, finder.path) if finder.by in (By.EMAIL, By.PHONE) else None
    if hashed is not None:
        path, column = hashed
        values = [subject.email] if finder.by == By.EMAIL else subject.phone_variants()
        values = [value for value in values if value]
        if not values:
            return None
        return Q(**{f"{path}__in": [keyed_hash(value, purpose=column.purpose) for value in values]})
    if finder.by == By.USER:
        if subject.user_id is None:
            return None
        key = f"{finder.path}__{finder.lookup}" if finder.lookup else finder.path
        return Q(**{key: subject.user_id})
    if finder.by == By.EMAIL:
        if not subject.email:
            return None
        return Q(**{f"{finder.path}__{finder.lookup or 'iexact'}": subject.email})
    if finder.by == By.PHONE:
        variants = subject.phone_variants()
        if not variants:
            return None
        if not finder.lookup or finder.lookup == "in":
            return Q(**{f"{finder.path}__in": variants})
        query = Q()
        for variant in variants:
            query |= Q(**{f"{finder.path}__{finder.lookup}": variant})
        return query
    if finder.by == By.PHONE_HASH:
        return Q(**{finder.path: subject.phone_hash}) if subject.phone else None
    if finder.by == By.PHONE_LOOKUP_HASH_LIST:
        return Q(**{f"{finder.path}__contains": f" {phone_lookup_hash(subject.phone)} "}) if subject.phone else None
    if finder.by == By.EMAIL_HASH:
        return Q(**{finder.path: subject.email_hash}) if subject.email else None
    raise ValueError(f"Unknown finder kind {finder.by!r}")


def finder_queryset(entry: PersonalData, finder: Finder, subject: Subject) -> models.QuerySet | None:
    query = finder_q(finder, subject, entry.model_class)
    if query is None:
        return None
    model = entry.model_class
    qs = model._base_manager.filter(query)
    if "__" in finder.path:
        qs = qs.distinct()
    return qs


def subject_for_job(job: ErasureJob) -> Subject:
    return Subject.build(user_id=job.user_id, email=job.email, phone=job.phone_number)


def subject_for_export(export: DataExport) -> Subject:
    return Subject.build(user_id=export.user_id, email=export.email, phone=export.phone_number)
