"""System check: every model that looks like it holds personal data is in the registry or excluded with a reason.

Registered when this module is imported (`PrivacyConfig.ready` imports it). The heuristic is deliberately broad —
a false alarm costs one line in EXCLUDED with a reason; a forgotten table costs an erasure that leaves data behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connections, models
from django.urls import NoReverseMatch, reverse

from portal.crypto import LookupHashField, LookupHashListField
from privacy.data.registry import Registry, RegistryError, build_registry
from privacy.data.replay import erased_people_back
from privacy.data.retention_coverage import uncovered

# The project's own apps: every model of theirs is classified, whatever its field names (fail closed).
PROJECT_APPS = frozenset({"portal", "accounts", "billing", "messaging", "privacy"})

# Name parts ("_"-separated) that suggest a person: e-mail, phone, name, IP address, free text bodies, addresses.
PERSONAL_NAME_PARTS = frozenset(
    {"email", "mail", "phone", "mobile", "msisdn", "name", "ip", "body", "address", "recipient", "sender"}
)
PERSONAL_FIELD_TYPES = (models.EmailField, models.GenericIPAddressField)


def _points_to_user(field: models.Field) -> bool:
    if not field.is_relation or field.related_model is None or not (field.many_to_one or field.one_to_one):
        return False
    user_label = settings.AUTH_USER_MODEL
    related = field.related_model
    label = related if isinstance(related, str) else related._meta.label
    return label == user_label


def personal_fields(model: type[models.Model]) -> list[str]:
    """Concrete fields of `model` that the heuristic considers personal."""
    found = []
    for field in model._meta.get_fields():
        if not getattr(field, "concrete", False) or field.auto_created and not field.is_relation:
            continue
        name = field.name.lower()
        parts = set(name.split("_"))
        if (
            isinstance(field, PERSONAL_FIELD_TYPES)
            or parts & PERSONAL_NAME_PARTS
            or "user_agent" in name
            or _points_to_user(field)
        ):
            found.append(field.name)
    return found


def _path_exists(model: type[models.Model], path: str) -> bool:
    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        if part == "pk":
            return index == len(parts) - 1
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if index < len(parts) - 1:
            if not field.is_relation or field.related_model is None:
                return False
            current = field.related_model
    return True


def check_models(model_list: Iterable[type[models.Model]], reg: Registry) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in model_list:
        meta = model._meta
        if meta.proxy or meta.auto_created or meta.swapped:
            continue
        label = meta.label
        found = personal_fields(model)
        if not reg.is_covered(label):
            if found:
                errors.append(
                    checks.Error(
                        f"{label} has fields that look personal ({', '.join(found)}) but is in no "
                        "personal-data "
                        "registry.",
                        hint=(
                            f"Declare it in {meta.app_config.name if meta.app_config else meta.app_label}/"
                            "personal_data.py PERSONAL_DATA (export category, erasure, finders), or add it "
                            "to "
                            "EXCLUDED with the reason it holds no personal data."
                        ),
                        obj=model,
                        id="privacy.E001",
                    )
                )
            elif meta.app_label in PROJECT_APPS:
                errors.append(
                    checks.Error(
                        f"{label} is a model of the project's own apps and is in no personal-data registry.",
                        hint=(
                            f"Declare its personal fields in {meta.app_label}/personal_data.py PERSONAL_DATA, or list "
                            "it in EXCLUDED with the reason it holds no personal data."
                        ),
                        obj=model,
                        id="privacy.E005",
                    )
                )
            continue
        entry = reg.entries.get(label)
        if entry is None:
            continue
        handled = set(entry.fields) | set(entry.kept)
        for finder in entry.finders:
            handled |= set(finder.erase_fields())
            handled.add(finder.path.split("__")[0])
        # A keyed hash kept beside an encrypted column follows its column (deleted or erased with it).
        handled |= {f.name for f in meta.concrete_fields if isinstance(f, LookupHashField) and f.source in handled}
        # An encrypted column found through the lookup hashes of the numbers inside it is reached by that finder.
        handled |= {f.source for f in meta.concrete_fields if isinstance(f, LookupHashListField) and f.name in handled}
        missing = [name for name in found if name not in handled and name not in {"id"}]
        if missing:
            errors.append(
                checks.Error(
                    f"{label}: personal-looking field(s) {', '.join(missing)} are neither exported, erased nor kept.",
                    hint="Add them to fields, a finder's erase rules, or `kept` (with a ground).",
                    obj=model,
                    id="privacy.E003",
                )
            )
        paths = list(entry.fields) + [finder.path for finder in entry.finders]
        for finder in entry.finders:
            paths += list(finder.erase_fields())
        bad = sorted({path for path in paths if not _path_exists(model, path)})
        bad += sorted({name for finder in entry.finders for name in (finder.export or ()) if name not in entry.fields})
        if bad:
            errors.append(
                checks.Error(
                    f"{label}: the personal-data entry names fields that do not exist: {', '.join(bad)}.",
                    obj=model,
                    id="privacy.E002",
                )
            )
    return errors


@checks.register(checks.Tags.models)
def personal_data_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        reg = build_registry()
    except RegistryError as exc:
        return [checks.Error(str(exc), id="privacy.E004")]
    if app_configs is None:
        model_list = apps.get_models()
    else:
        model_list = [model for config in app_configs for model in config.get_models()]
    messages = check_models(model_list, reg)
    if app_configs is None:
        for label in uncovered(reg.entries):
            messages.append(
                checks.Error(
                    f"The personal data in {label} has no retention rule.",
                    hint=(
                        "Cover it with a RetentionCategory in privacy/data/retention_coverage.py COVERED_BY (and its "
                        "purge in privacy/data/retention.py), or say in NO_RULE_NEEDED why it needs none."
                    ),
                    id="privacy.E006",
                )
            )
        for label in sorted(set(reg.entries) | set(reg.excluded)):
            try:
                apps.get_model(label)
            except LookupError:
                messages.append(
                    checks.Warning(
                        f"The personal-data registry names {label}, which is not an installed model.",
                        hint=f"Remove or rename it in {reg.sources[label]}.",
                        id="privacy.W001",
                    )
                )
    return messages


@checks.register(checks.Tags.urls)
def data_urls_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The export links e-mailed to people point into privacy.data.urls: it must be routed."""
    try:
        reverse("privacy_data:export_download", args=[1])
    except NoReverseMatch:
        return [
            checks.Warning(
                "privacy.data.urls is not routed: export download links cannot be built.",
                hint='Add path("privacy/data/", include("privacy.data.urls")) to portal/urls.py.',
                id="privacy.W002",
            )
        ]
    return []


def erasure_ledger_findings() -> list[tuple[str, bool, str]]:
    """(name, ok, detail) about the erasure ledger: reachable, and no erased person back in the main database.

    Quiet where there is nothing to look at yet (a main database without the privacy tables, e.g. a deploy check on
    an empty database)."""
    try:
        if "privacy_erasurejob" not in connections["default"].introspection.table_names():
            return []
    except Exception:  # no main database to look into (unreachable, or a test without one): Django says so itself
        return []
    try:
        back, gaps = erased_people_back()
    except AssertionError:  # a test that did not ask for the ledger database (pytest-django forbids touching it)
        return []
    except DatabaseError as exc:
        return [
            (
                "privacy.erasure_ledger",
                False,
                f"The erasure ledger database cannot be read ({type(exc).__name__}: {exc}); run "
                "`manage.py migrate --database erasure_ledger`.",
            )
        ]
    if back:
        return [
            (
                "privacy.erasure_ledger",
                False,
                f"{back} erased people are in the database again ({len(gaps)} erasures the database has no record "
                "of: was a backup restored?). Run `manage.py replay_erasures`.",
            )
        ]
    return [("privacy.erasure_ledger", True, "Every erasure in the ledger holds in the main database.")]


@checks.register()
def erasure_ledger_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warn when the main database holds someone the erasure ledger says was erased (a restore brought them back)."""
    return [
        checks.Warning(
            detail,
            hint="After restoring a backup: manage.py replay_erasures (see README, Restoring a backup).",
            id="privacy.W003",
        )
        for _name, ok, detail in erasure_ledger_findings()
        if not ok
    ]
