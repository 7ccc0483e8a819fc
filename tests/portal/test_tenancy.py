"""Tenancy fails closed: every model with an `organization` foreign key refuses a query that is not scoped."""

import pytest
from django.apps import apps
from django.db.models import Q

from accounts.models import APIKey
from accounts.services import api_key_create
from portal.tenancy import TenantManager, UnscopedQueryError, is_tenant_owned

PROJECT_APPS = ("accounts", "billing", "messaging", "privacy", "portal")


def tenant_owned_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS and is_tenant_owned(model) and not model._meta.proxy
    ]


def test_the_project_has_tenant_owned_models():
    labels = {model._meta.label for model in tenant_owned_models()}
    assert {"accounts.APIKey", "messaging.Message", "billing.LedgerEntry"} <= labels


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda model: model._meta.label)
def test_default_manager_is_the_tenant_manager(model):
    assert isinstance(model._default_manager, TenantManager), f"{model._meta.label} needs TenantManager"


@pytest.mark.django_db
@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda model: model._meta.label)
@pytest.mark.parametrize(
    "run",
    [
        pytest.param(lambda qs: list(qs), id="list"),
        pytest.param(lambda qs: qs.count(), id="count"),
        pytest.param(lambda qs: qs.exists(), id="exists"),
        pytest.param(lambda qs: qs.first(), id="first"),
        pytest.param(lambda qs: list(qs.iterator()), id="iterator"),
        pytest.param(lambda qs: qs.update(), id="update"),
        pytest.param(lambda qs: qs.delete(), id="delete"),
        pytest.param(lambda qs: qs.filter(pk=1).get(), id="get-by-pk"),
    ],
)
def test_an_unscoped_query_raises_and_names_the_model(model, run):
    with pytest.raises(UnscopedQueryError, match=model._meta.label):
        run(model._default_manager.all())


@pytest.mark.django_db
@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda model: model._meta.label)
def test_scoped_and_named_bypass_queries_run(model, org_a):
    assert list(model._default_manager.for_organization(org_a)) == []
    assert model._default_manager.filter(organization=org_a).count() == 0
    model._default_manager.unscoped().exists()


@pytest.mark.django_db
def test_an_or_with_the_organization_is_not_a_scope(org_a):
    with pytest.raises(UnscopedQueryError):
        list(APIKey.objects.filter(Q(organization=org_a) | Q(name="x")))


@pytest.mark.django_db
def test_scoping_only_returns_that_organizations_rows(org_a, org_b):
    api_key_create(organization=org_a, actor=None, name="a")
    api_key_create(organization=org_b, actor=None, name="b")

    assert [key.name for key in APIKey.objects.for_organization(org_a)] == ["a"]
    assert APIKey.objects.unscoped().count() == 2
