import pytest

from accounts.roles import API_KEY_PERMISSIONS, Permission, Role, role_has_permission

EXPECTED = {
    Role.VIEWER: {Permission.VIEW},
    Role.DEVELOPER: {
        Permission.VIEW,
        Permission.SEND_MESSAGES,
        Permission.MANAGE_API_KEYS,
        Permission.MANAGE_WEBHOOKS,
    },
    Role.ADMIN: {
        Permission.VIEW,
        Permission.SEND_MESSAGES,
        Permission.MANAGE_API_KEYS,
        Permission.MANAGE_WEBHOOKS,
        Permission.MANAGE_MEMBERS,
        Permission.MANAGE_BILLING,
        Permission.RENAME_ORGANIZATION,
    },
    Role.OWNER: set(Permission),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_matrix(role, permission):
    assert role_has_permission(role, permission) is (permission in EXPECTED[role])


def test_unknown_role_has_nothing():
    assert not role_has_permission("superhero", Permission.VIEW)


def test_api_keys_act_as_developers_never_as_admins():
    assert Permission.SEND_MESSAGES in API_KEY_PERMISSIONS
    assert Permission.MANAGE_MEMBERS not in API_KEY_PERMISSIONS
    assert Permission.MANAGE_BILLING not in API_KEY_PERMISSIONS
