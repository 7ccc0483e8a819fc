"""The personal-data registry: what every app holds about a person, and how to export, erase and correct it.

Each app declares, in `<app>/personal_data.py`, two module attributes (read here; nothing registers itself as a
side effect of being imported):

    PERSONAL_DATA = [PersonalData(model="messaging.Message", area=..., fields={...}, finders=(...)), ...]
    EXCLUDED = {"messaging.Provider": "provider configuration; names a company, not a person", ...}

A declaration may name a model of any app (the project declares the third-party models it installs, e.g. allauth's
EmailAddress, in the app that uses them). `privacy.checks` fails the system check when a model that looks like it
holds personal data is neither declared nor excluded with a reason, so a new table cannot be forgotten.

How a subject's rows are found: a `Finder` per way in (by user, by e-mail, by phone number). What happens to those
rows on erasure is attached to the finder, because it depends on *why* the row is the person's: a message sent *to*
a number loses its body and number, a message sent *by* a user only loses the link to the user.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.db import models

from privacy.data_models import ErasureArea


class Category(models.TextChoices):
    """The categories of the privacy policy, section 2; one export file each."""

    PERSONAL_INFORMATION = (
        "personal_information",
        "Personal information",
    )  # name, e-mail address, phone number
    USAGE_DATA = "usage_data", "Usage data"  # API usage, message logs, timestamps
    ACCOUNT_INFORMATION = (
        "account_information",
        "Account information",
    )  # memberships, preferences, billing details
    TECHNICAL_DATA = "technical_data", "Technical data"  # IP addresses, devices, browsers


CATEGORY_DESCRIPTIONS = {
    Category.PERSONAL_INFORMATION: "Your name, e-mail address and phone number as we hold them.",
    Category.USAGE_DATA: "Your use of the service: API requests, messages sent to or by you, and when.",
    Category.ACCOUNT_INFORMATION: (
        "Your organizations and roles, preferences and objections, and billing records that name you. "
        "Password hashes and API key hashes are never included."
    ),
    Category.TECHNICAL_DATA: "IP addresses, devices and browsers seen when you signed in or used the API.",
}


class Strategy(models.TextChoices):
    DELETE_ROW = "delete_row", "Delete the row"  # nothing of the row is needed any more
    NULL = "null", "Set to empty"  # NULL for nullable columns, "" for text, {} / [] for JSON
    CONSTANT = "constant", "Replace with a constant"  # "{pk}" in the constant keeps unique columns unique
    HASH = "hash", "Replace with a keyed hash"  # counts and joins survive; the value cannot be recovered
    SCRUB = "scrub", "Remove the identifier from free text/JSON"  # e.g. an audit entry that names the e-mail
    KEEP = "keep", "Keep (legal ground)"  # kept on purpose, e.g. tax records; the ground is recorded


class By(models.TextChoices):
    USER = "user", "User account"  # a foreign key (path) to the user
    EMAIL = "email", "E-mail address"  # a column holding the e-mail address
    PHONE = "phone", "Phone number"  # a column holding the E.164 phone number
    PHONE_HASH = "phone_hash", "Hashed phone number"  # a column holding keyed_hash(phone, PHONE_HASH_PURPOSE)
    EMAIL_HASH = (
        "email_hash",
        "Hashed e-mail address",
    )  # a column holding keyed_hash(email, EMAIL_HASH_PURPOSE)


@dataclass(frozen=True)
class Erase:
    strategy: Strategy
    value: Any = None
    legal_ground: str = ""


DELETE_ROW = Erase(Strategy.DELETE_ROW)
SET_EMPTY = Erase(Strategy.NULL)
HASH = Erase(Strategy.HASH)
SCRUB = Erase(Strategy.SCRUB)


def constant(value: Any) -> Erase:
    return Erase(Strategy.CONSTANT, value=value)


def keep(legal_ground: str) -> Erase:
    if not legal_ground.strip():
        raise ValueError("Keeping personal data needs a legal ground.")
    return Erase(Strategy.KEEP, legal_ground=legal_ground)


@dataclass(frozen=True)
class Finder:
    """One way to find a subject's rows, and what erasure does to the rows found that way.

    `erase` is DELETE_ROW or a mapping {field name: Erase}. `lookup` defaults to exact for users, iexact for
    e-mail and `in` (the E.164 form and the raw form) for phone numbers; `icontains` finds an identifier inside
    free text or JSON (use with SCRUB).
    """

    by: By
    path: str
    erase: Erase | dict[str, Erase]
    lookup: str = ""
    # Entry fields exported for rows found this way: None = all of them, () = none (e.g. invitations the person
    # sent hold *other* people's addresses, so they are erased from but not exported).
    export: tuple[str, ...] | None = None
    label: str = ""  # README wording, e.g. "messages sent to your number"

    def erase_fields(self) -> dict[str, Erase]:
        return {} if isinstance(self.erase, Erase) else dict(self.erase)


@dataclass(frozen=True)
class PersonalData:
    """One model's personal data.

    `fields` maps exported columns (ORM paths like "organization__name" allowed) to a category; password and
    key hashes are never listed. `correctable` names the fields an update request may change.
    """

    model: str
    area: ErasureArea
    description: str
    fields: dict[str, Category]
    finders: tuple[Finder, ...]
    correctable: tuple[str, ...] = ()
    kept: dict[str, str] = field(default_factory=dict)  # field -> legal ground, for fields kept after erasure

    @property
    def model_class(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model)
        except LookupError:
            return None


class RegistryError(Exception):
    pass


@dataclass
class Registry:
    entries: dict[str, PersonalData]
    excluded: dict[str, str]
    sources: dict[str, str]  # model label -> module that declared it

    def entries_in_area(self, area: str) -> list[PersonalData]:
        return [entry for entry in self.entries.values() if entry.area == area and entry.model_class is not None]

    def available(self) -> Iterator[PersonalData]:
        return (entry for entry in self.entries.values() if entry.model_class is not None)

    def is_covered(self, label: str) -> bool:
        return label in self.entries or label in self.excluded


def build_registry(module_names: list[str] | None = None) -> Registry:
    """Read PERSONAL_DATA and EXCLUDED from every installed app's `personal_data` module (or the given
    modules)."""
    if module_names is None:
        module_names = []
        for config in apps.get_app_configs():
            name = f"{config.name}.personal_data"
            if importlib.util.find_spec(config.name) is None:
                continue
            try:
                spec = importlib.util.find_spec(name)
            except ModuleNotFoundError:
                spec = None
            if spec is not None:
                module_names.append(name)
    entries: dict[str, PersonalData] = {}
    excluded: dict[str, str] = {}
    sources: dict[str, str] = {}
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for entry in getattr(module, "PERSONAL_DATA", []):
            if entry.model in sources:
                raise RegistryError(f"{entry.model} is declared twice: in {sources[entry.model]} and {module_name}")
            entries[entry.model] = entry
            sources[entry.model] = module_name
        for label, reason in getattr(module, "EXCLUDED", {}).items():
            if label in sources:
                raise RegistryError(f"{label} is declared twice: in {sources[label]} and {module_name}")
            if not str(reason).strip():
                raise RegistryError(f"{module_name} excludes {label} without a reason")
            excluded[label] = reason
            sources[label] = module_name
    return Registry(entries=entries, excluded=excluded, sources=sources)


@cache
def registry() -> Registry:
    return build_registry()


def correctable_fields() -> dict[str, tuple[str, ...]]:
    """Model label -> fields an update (correction) request may change, as each app declared them."""
    return {label: entry.correctable for label, entry in registry().entries.items() if entry.correctable}
