"""The personal-data registry and its system check: a table with personal data cannot be forgotten."""

import pytest
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.db import models
from django.test.utils import isolate_apps

from portal.personal_data import DELETE_ROW, By, Category, ErasureArea, Finder, PersonalData, Strategy, keep
from privacy import checks as privacy_checks
from privacy.data.registry import Registry, RegistryError, build_registry, registry


def _registry(entries=(), excluded=None) -> Registry:
    return Registry(
        entries={entry.model: entry for entry in entries},
        excluded=excluded or {},
        sources={entry.model: "test" for entry in entries},
    )


def _errors(model, reg):
    return [message for message in privacy_checks.check_models([model], reg) if message.level >= checks.ERROR]


def test_the_project_passes_the_check():
    messages = privacy_checks.personal_data_check()
    assert messages == [], "\n".join(str(m) for m in messages)


def test_the_check_runs_with_manage_py_check():
    assert privacy_checks.personal_data_check in checks.registry.registry.get_checks()
    call_command("check")  # raises SystemCheckError on any error


def test_every_installed_model_with_personal_fields_is_covered():
    reg = registry()
    uncovered = [
        model._meta.label
        for model in apps.get_models()
        if privacy_checks.personal_fields(model) and not reg.is_covered(model._meta.label)
    ]
    assert uncovered == []
    for label, reason in reg.excluded.items():
        assert len(reason) > 15, f"{label} is excluded without a real reason"


@isolate_apps("privacy")
def test_a_new_model_with_personal_fields_fails_the_check():
    class NewsletterSignup(models.Model):  # noqa: DJ008
        contact_email = models.EmailField()
        created_at = models.DateTimeField()

        class Meta:
            app_label = "privacy"

    errors = _errors(NewsletterSignup, _registry())
    assert [e.id for e in errors] == ["privacy.E001"]
    assert "contact_email" in errors[0].msg and "personal_data.py" in errors[0].hint


@isolate_apps("privacy")
def test_the_heuristic_catches_names_ips_bodies_and_user_links():
    class Everything(models.Model):  # noqa: DJ008
        owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
        display_name = models.CharField(max_length=10)
        last_ip = models.CharField(max_length=40)
        user_agent = models.TextField()
        body = models.TextField()
        postal_address = models.TextField()
        quantity = models.IntegerField()

        class Meta:
            app_label = "privacy"

    found = privacy_checks.personal_fields(Everything)
    assert set(found) == {"owner", "display_name", "last_ip", "user_agent", "body", "postal_address"}


@isolate_apps("privacy")
def test_a_model_without_personal_fields_needs_nothing():
    class Counter(models.Model):  # noqa: DJ008
        total = models.IntegerField()

        class Meta:
            app_label = "privacy"

    # A model of the project's own apps is classified all the same (fail closed): listed as holding nothing.
    assert _errors(Counter, _registry(excluded={"privacy.Counter": "A counter; nothing about a person."})) == []


@isolate_apps("privacy")
def test_excluded_on_purpose_passes_and_registered_fields_are_all_handled():
    class Feedback(models.Model):  # noqa: DJ008
        email = models.EmailField()
        ip_address = models.GenericIPAddressField(null=True)

        class Meta:
            app_label = "privacy"

    assert _errors(Feedback, _registry(excluded={"privacy.Feedback": "test data only"})) == []

    half = PersonalData(
        model="privacy.Feedback",
        area=ErasureArea.PRIVACY,
        description="feedback",
        fields={"email": Category.PERSONAL_INFORMATION},
        finders=(Finder(By.EMAIL, "email", DELETE_ROW),),
    )
    errors = _errors(Feedback, _registry([half]))
    assert [e.id for e in errors] == ["privacy.E003"] and "ip_address" in errors[0].msg

    wrong = PersonalData(
        model="privacy.Feedback",
        area=ErasureArea.PRIVACY,
        description="feedback",
        fields={"email": Category.PERSONAL_INFORMATION, "ip_adress": Category.TECHNICAL_DATA},
        finders=(Finder(By.EMAIL, "email", DELETE_ROW),),
        kept={"ip_address": "test"},
    )
    assert [e.id for e in _errors(Feedback, _registry([wrong]))] == ["privacy.E002"]


def test_keep_needs_a_legal_ground_and_declarations_are_unique(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="legal ground"):
        keep("  ")
    assert keep("tax law").strategy == Strategy.KEEP
    with pytest.raises(RegistryError, match="declared twice"):
        build_registry(["accounts.personal_data", "accounts.personal_data"])


def test_registry_covers_the_erasure_areas_and_categories_the_policy_names():
    reg = registry()
    areas = {entry.area for entry in reg.available()}
    assert set(ErasureArea.values) <= areas
    categories = {category for entry in reg.available() for category in entry.fields.values()}
    assert categories == set(Category.values)
    # Never exported: password hashes, key hashes, OTP code hashes.
    exported = {(entry.model, name) for entry in reg.available() for name in entry.fields}
    assert ("accounts.User", "password") not in exported
    assert ("accounts.APIKey", "key_hash") not in exported
    assert ("messaging.OtpChallenge", "code_hash") not in exported


def test_the_url_check_passes_when_the_data_urls_are_routed():
    assert privacy_checks.data_urls_check() == []


@pytest.mark.urls("tests.privacy.urls_without_data")
def test_the_url_check_warns_when_the_data_urls_are_not_routed():
    assert [m.id for m in privacy_checks.data_urls_check()] == ["privacy.W002"]


def test_correctable_fields_are_declared_for_the_account():
    from privacy.data.registry import correctable_fields

    assert correctable_fields()["accounts.User"] == ("full_name", "phone_number")
