"""What each role may do, in one place.

Roles are cumulative: viewer reads; developer also sends and manages API keys; admin also manages members and
billing; owner also deletes the organization and transfers ownership.
"""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"  # everything, including deleting the organization and handing it over
    ADMIN = "admin", "Admin"  # runs the organization day to day: members and billing
    DEVELOPER = "developer", "Developer"  # sends messages and manages API keys
    VIEWER = "viewer", "Viewer"  # reads dashboards, logs and statements


class Permission(models.TextChoices):
    VIEW = "view", "View the organization's data"
    SEND_MESSAGES = "send_messages", "Send messages"
    MANAGE_API_KEYS = "manage_api_keys", "Create and revoke API keys"
    MANAGE_WEBHOOKS = "manage_webhooks", "Configure status webhooks"
    MANAGE_MEMBERS = "manage_members", "Invite, change and remove members"
    MANAGE_BILLING = "manage_billing", "Billing settings and alerts"
    DELETE_ORGANIZATION = "delete_organization", "Delete the organization"
    TRANSFER_OWNERSHIP = "transfer_ownership", "Transfer ownership"


_VIEWER = {Permission.VIEW}
_DEVELOPER = _VIEWER | {Permission.SEND_MESSAGES, Permission.MANAGE_API_KEYS, Permission.MANAGE_WEBHOOKS}
_ADMIN = _DEVELOPER | {Permission.MANAGE_MEMBERS, Permission.MANAGE_BILLING}
_OWNER = _ADMIN | {Permission.DELETE_ORGANIZATION, Permission.TRANSFER_OWNERSHIP}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.DEVELOPER: frozenset(_DEVELOPER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_OWNER),
}

# An API key acts for its organization with a developer's rights: it can send and read, never manage people or money.
API_KEY_PERMISSIONS: frozenset[str] = frozenset(_DEVELOPER)

ROLE_RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_has_permission(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
