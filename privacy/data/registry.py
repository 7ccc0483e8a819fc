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
from dataclasses import dataclass
from functools import cache

from django.apps import apps

from portal.personal_data import PersonalData


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
