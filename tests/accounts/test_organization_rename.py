"""Owners and admins rename their organization from its settings page; the change is audited, others are refused,
and another organization's members cannot touch it."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog, Organization


def rename(client, name):
    return client.post(reverse("organization_settings"), {"action": "rename", "name": name}, follow=True)


@pytest.mark.parametrize("role_fixture", ["owner_a", "admin_a"])
def test_owner_and_admin_rename_and_it_is_audited(request, login_as, org_a, role_fixture):
    user = request.getfixturevalue(role_fixture)
    client = login_as(user, org_a)
    assert 'id="rename-form"' in client.get(reverse("organization_settings")).content.decode()
    response = rename(client, "  Alpha Retail Group ")
    assert "The organization is now called Alpha Retail Group." in response.content.decode()
    org_a.refresh_from_db()
    assert org_a.name == "Alpha Retail Group" and org_a.slug == "alpha"
    entry = AuditLog.objects.unscoped().get(event_type="organization.renamed")
    assert entry.actor == user and entry.organization == org_a
    assert entry.extra_data == {"from": "Alpha Retail", "to": "Alpha Retail Group"}


@pytest.mark.parametrize("role_fixture", ["developer_a", "viewer_a"])
def test_developers_and_viewers_cannot_rename(request, login_as, org_a, role_fixture):
    client = login_as(request.getfixturevalue(role_fixture), org_a)
    assert 'id="rename-form"' not in client.get(reverse("organization_settings")).content.decode()
    response = rename(client, "Taken over")
    assert "does not allow this" in response.content.decode()
    assert Organization.objects.get(pk=org_a.pk).name == "Alpha Retail"


def test_an_empty_name_is_refused(client_owner_a, org_a):
    response = rename(client_owner_a, "   ")
    assert response.status_code == 200
    assert Organization.objects.get(pk=org_a.pk).name == "Alpha Retail"


def test_renaming_touches_only_the_active_organization(client_owner_b, org_a, org_b):
    rename(client_owner_b, "Bravo Health")
    assert Organization.objects.get(pk=org_b.pk).name == "Bravo Health"
    assert Organization.objects.get(pk=org_a.pk).name == "Alpha Retail"
