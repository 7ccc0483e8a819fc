"""What each role may do, in one place.

Roles are cumulative: viewer reads; developer also sends and manages API keys; admin also manages members and
billing; owner also deletes the organization and transfers ownership.

API keys carry scopes on top: a key may call an endpoint only when it has the scope that endpoint declares for the
method (`required_scopes` on the API view, otherwise the scope of the method's permission, `SCOPE_OF_PERMISSION`).
Browser sessions are not limited by scopes: a person's role is the limit there.
"""

from collections.abc import Iterable

from django.db import models

from portal.errors import PermissionDenied


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
    RENAME_ORGANIZATION = "rename_organization", "Rename the organization"
    DELETE_ORGANIZATION = "delete_organization", "Delete the organization"
    TRANSFER_OWNERSHIP = "transfer_ownership", "Transfer ownership"


_VIEWER = {Permission.VIEW}
_DEVELOPER = _VIEWER | {Permission.SEND_MESSAGES, Permission.MANAGE_API_KEYS, Permission.MANAGE_WEBHOOKS}
_ADMIN = _DEVELOPER | {Permission.MANAGE_MEMBERS, Permission.MANAGE_BILLING, Permission.RENAME_ORGANIZATION}
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


class Scope(models.TextChoices):
    """What an API key may do, chosen when the key is created."""

    SEND = "send", "Send messages and one-time passwords, cancel queued messages"
    READ = "read", "Read messages, routes, notices, the webhook settings and deliveries"
    BILLING = "billing", "Read the balance, ledger, payments, receipts and statements"
    ADMIN = "admin", "Configure and test the status webhook"


def all_scopes() -> list[str]:
    """Every scope: what a key could do before keys had scopes, so a key made without a choice keeps working."""
    return list(Scope.values)


# The scope an endpoint needs when it does not declare one: that of the permission the method requires.
SCOPE_OF_PERMISSION: dict[str, str] = {
    Permission.VIEW: Scope.READ,
    Permission.SEND_MESSAGES: Scope.SEND,
    Permission.MANAGE_WEBHOOKS: Scope.ADMIN,
    Permission.MANAGE_API_KEYS: Scope.ADMIN,
    Permission.MANAGE_MEMBERS: Scope.ADMIN,
    Permission.MANAGE_BILLING: Scope.BILLING,
    Permission.DELETE_ORGANIZATION: Scope.ADMIN,
    Permission.TRANSFER_OWNERSHIP: Scope.ADMIN,
}


def required_scope(*, view, method: str) -> str:
    """The scope a key needs to call `method` on `view`: declared in `view.required_scopes`, else derived."""
    declared = getattr(view, "required_scopes", {}).get(method)
    return declared or SCOPE_OF_PERMISSION[view.required_permissions[method]]


def require_api_key_scope(*, view, method: str, granted: Iterable[str]) -> None:
    """403 `insufficient_scope` unless the key's scopes include the one the endpoint needs for the method."""
    needed = required_scope(view=view, method=method)
    granted = sorted(granted)
    if needed not in granted:
        raise PermissionDenied(
            f"This API key does not have the `{needed}` scope this endpoint needs; "
            "create a key with that scope on the API keys page.",
            code="insufficient_scope",
            details={"required_scope": needed, "key_scopes": granted},
        )
