"""Writes for accounts: organizations, memberships, invitations, API keys, login records, audit.

Every function is keyword-only, runs in one transaction and leaves an audit record where it matters.
"""

import hashlib
import secrets
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from user_agents import parse as parse_user_agent

from accounts.api_key_cache import api_key_forget
from accounts.models import (
    APIKey,
    AuditLog,
    Invitation,
    InvitationStatus,
    LoginRecord,
    Membership,
    Organization,
    OrganizationStatus,
    User,
)
from accounts.roles import Permission, Role, Scope, all_scopes
from portal import hooks
from portal.errors import ApplicationError, Conflict, NotFound, OrganizationSuspended, PermissionDenied

INVITATION_LIFETIME = timedelta(days=7)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def audit_log_record(
    *,
    event_type: str,
    organization: Organization | None = None,
    actor: User | None = None,
    api_key: APIKey | None = None,
    target: Model | None = None,
    extra: dict[str, Any] | None = None,
) -> AuditLog:
    return AuditLog.objects.create(
        event_type=event_type,
        organization=organization,
        actor=actor if actor is not None and actor.is_authenticated else None,
        api_key=api_key,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        extra_data=extra or {},
    )


def require_permission(*, membership: Membership | None, permission: str) -> None:
    if membership is None or not membership.has_perm(permission):
        raise PermissionDenied("Your role in this organization does not allow this.")


def require_active_organization(*, organization: Organization) -> None:
    if organization.status != OrganizationStatus.ACTIVE:
        reason = f": {organization.suspended_reason}" if organization.suspended_reason else ""
        raise OrganizationSuspended(f"Organization {organization.slug} is {organization.status}{reason}")


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: User, slug: str | None = None) -> Organization:
    name = name.strip()
    if not name:
        raise ApplicationError("An organization needs a name.", code="invalid_name")
    if slug and Organization.objects.filter(slug=slug).exists():
        raise Conflict(f"The slug {slug!r} is taken.", code="slug_taken")
    organization = Organization.objects.create(name=name, slug=slug or _unique_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    hooks.organization_created.send(sender=Organization, organization_id=organization.id)
    audit_log_record(event_type="organization.created", organization=organization, actor=owner, target=organization)
    return organization


@transaction.atomic
def organization_rename(*, organization: Organization, actor_membership: Membership, name: str) -> Organization:
    """Owners and admins rename their organization (the slug, used in links and by staff, stays)."""
    require_permission(membership=actor_membership, permission=Permission.RENAME_ORGANIZATION)
    name = name.strip()
    if not name:
        raise ApplicationError("An organization needs a name.", code="invalid_name")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    old_name = organization.name
    if name == old_name:
        return organization
    organization.name = name
    organization.save(update_fields=["name"])
    audit_log_record(
        event_type="organization.renamed",
        organization=organization,
        actor=actor_membership.user,
        target=organization,
        extra={"from": old_name, "to": name},
    )
    return organization


@transaction.atomic
def organization_suspend(*, organization: Organization, actor: User | None, reason: str) -> Organization:
    if not reason.strip():
        raise ApplicationError("Suspending an organization needs a reason.", code="reason_required")
    organization.status = OrganizationStatus.SUSPENDED
    organization.suspended_reason = reason.strip()
    organization.save(update_fields=["status", "suspended_reason"])
    audit_log_record(
        event_type="organization.suspended", organization=organization, actor=actor, extra={"reason": reason}
    )
    return organization


@transaction.atomic
def organization_reactivate(*, organization: Organization, actor: User | None) -> Organization:
    organization.status = OrganizationStatus.ACTIVE
    organization.suspended_reason = ""
    organization.save(update_fields=["status", "suspended_reason"])
    audit_log_record(event_type="organization.reactivated", organization=organization, actor=actor)
    return organization


def _lock_memberships(organization: Organization):
    return Membership.objects.select_for_update().filter(organization=organization)


@transaction.atomic
def membership_change_role(*, organization: Organization, actor_membership: Membership, membership_id: int, role: str):
    require_permission(membership=actor_membership, permission=Permission.MANAGE_MEMBERS)
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.", code="invalid_role")
    memberships = list(_lock_memberships(organization))
    target = next((m for m in memberships if m.id == membership_id), None)
    if target is None:
        raise NotFound("No such member.")
    if Role.OWNER in (role, target.role) and actor_membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can grant or take away the owner role.")
    if target.role == Role.OWNER and role != Role.OWNER and sum(m.role == Role.OWNER for m in memberships) == 1:
        raise Conflict("An organization always has at least one owner; transfer ownership first.", code="last_owner")
    previous = target.role
    target.role = role
    target.save(update_fields=["role"])
    audit_log_record(
        event_type="membership.role_changed",
        organization=organization,
        actor=actor_membership.user,
        target=target,
        extra={"from": previous, "to": role, "user": target.user.email},
    )
    return target


@transaction.atomic
def membership_remove(*, organization: Organization, actor_membership: Membership, membership_id: int) -> None:
    memberships = list(_lock_memberships(organization))
    target = next((m for m in memberships if m.id == membership_id), None)
    if target is None:
        raise NotFound("No such member.")
    leaving_self = target.user_id == actor_membership.user_id
    if not leaving_self:
        require_permission(membership=actor_membership, permission=Permission.MANAGE_MEMBERS)
        if target.role == Role.OWNER and actor_membership.role != Role.OWNER:
            raise PermissionDenied("Only an owner can remove an owner.")
    if target.role == Role.OWNER and sum(m.role == Role.OWNER for m in memberships) == 1:
        raise Conflict("An organization always has at least one owner; transfer ownership first.", code="last_owner")
    target.delete()
    audit_log_record(
        event_type="membership.removed",
        organization=organization,
        actor=actor_membership.user,
        extra={"user": target.user.email, "role": target.role},
    )


@transaction.atomic
def organization_transfer_ownership(
    *, organization: Organization, actor_membership: Membership, new_owner_membership_id: int
) -> Membership:
    require_permission(membership=actor_membership, permission=Permission.TRANSFER_OWNERSHIP)
    memberships = {m.id: m for m in _lock_memberships(organization)}
    target = memberships.get(new_owner_membership_id)
    if target is None:
        raise NotFound("No such member.")
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    if target.id != actor_membership.id:
        me = memberships[actor_membership.id]
        me.role = Role.ADMIN
        me.save(update_fields=["role"])
    audit_log_record(
        event_type="organization.ownership_transferred",
        organization=organization,
        actor=actor_membership.user,
        extra={"to": target.user.email},
    )
    return target


@transaction.atomic
def organization_close(*, organization: Organization, actor_membership: Membership | None, reason: str) -> None:
    """Close (delete, from the owner's point of view) an organization.

    Rows are not dropped: billing records must be kept for as long as the law requires, so the organization is
    closed, its members and keys are removed and nothing can be sent from it again. Sends
    `portal.hooks.organization_closed` inside the transaction.
    """
    if actor_membership is not None:
        require_permission(membership=actor_membership, permission=Permission.DELETE_ORGANIZATION)
    organization.status = OrganizationStatus.CLOSED
    organization.suspended_reason = reason
    organization.save(update_fields=["status", "suspended_reason"])
    now = timezone.now()
    APIKey.objects.filter(organization=organization, revoked_at__isnull=True).update(revoked_at=now)
    Invitation.objects.filter(organization=organization, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED
    )
    Membership.objects.filter(organization=organization).delete()
    actor = actor_membership.user if actor_membership else None
    # The apps above (messaging cancels and refunds the queue) act in this transaction; what they report goes
    # into the audit record.
    extra: dict[str, Any] = {"reason": reason}
    for _receiver, facts in hooks.organization_closed.send(
        sender=Organization, organization_id=organization.id, actor_id=actor.id if actor else None, reason=reason
    ):
        if isinstance(facts, dict):
            extra.update(facts)
    audit_log_record(event_type="organization.closed", organization=organization, actor=actor, extra=extra)


# --- Invitations ---


@transaction.atomic
def invitation_create(
    *, organization: Organization, actor_membership: Membership, email: str, role: str
) -> tuple[Invitation, str]:
    require_permission(membership=actor_membership, permission=Permission.MANAGE_MEMBERS)
    require_active_organization(organization=organization)
    email = email.strip().lower()
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", code="invalid_role")
    if role == Role.OWNER and actor_membership.role != Role.OWNER:
        raise PermissionDenied("Only an owner can invite another owner.")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member.", code="already_member")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=_sha256(token),
        invited_by=actor_membership.user,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit_log_record(
        event_type="invitation.created",
        organization=organization,
        actor=actor_membership.user,
        target=invitation,
        extra={"email": email, "role": role},
    )
    accept_url = settings.SITE_URL + reverse("invitation_accept", kwargs={"token": token})
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {organization.name} on SMS Portal",
            message=(
                f"{actor_membership.user.get_full_name()} invited you to join {organization.name} as {role}.\n\n"
                f"Accept within 7 days: {accept_url}\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, token


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = (
        Invitation.objects.unscoped()
        .select_for_update()
        .select_related("organization")
        .filter(token_hash=_sha256(token))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid.", code="invitation_invalid")
    if invitation.status == InvitationStatus.ACCEPTED:
        raise Conflict("This invitation has already been used.", code="invitation_used")
    if invitation.status == InvitationStatus.REVOKED:
        raise Conflict("This invitation was withdrawn.", code="invitation_revoked")
    if invitation.expires_at <= timezone.now():
        raise ApplicationError("This invitation has expired; ask for a new one.", code="invitation_expired", status=410)
    if invitation.email.lower() != user.email.lower():
        raise PermissionDenied(f"This invitation was sent to {invitation.email}; sign in with that address.")
    membership, created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
    audit_log_record(
        event_type="invitation.accepted", organization=invitation.organization, actor=user, target=invitation
    )
    return membership


@transaction.atomic
def invitation_revoke(*, organization: Organization, actor_membership: Membership, invitation_id: int) -> None:
    require_permission(membership=actor_membership, permission=Permission.MANAGE_MEMBERS)
    updated = Invitation.objects.filter(
        organization=organization, id=invitation_id, status=InvitationStatus.PENDING
    ).update(status=InvitationStatus.REVOKED)
    if not updated:
        raise NotFound("No such pending invitation.")
    audit_log_record(event_type="invitation.revoked", organization=organization, actor=actor_membership.user)


# --- API keys ---


def api_key_hash(raw_key: str) -> str:
    return _sha256(raw_key)


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    expires_at=None,
    actor_membership: Membership | None = None,
    scopes: list[str] | None = None,
) -> tuple[APIKey, str]:
    """Create a key and return it with the full secret, which is never stored and cannot be shown again.

    `scopes` (accounts.roles.Scope values) limit what the key may call; None gives every scope."""
    if actor_membership is not None:
        require_permission(membership=actor_membership, permission=Permission.MANAGE_API_KEYS)
    require_active_organization(organization=organization)
    name = name.strip()
    if not name:
        raise ApplicationError("An API key needs a name.", code="invalid_name")
    scopes = all_scopes() if scopes is None else sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown or not scopes:
        raise ApplicationError(
            f"Choose at least one scope from {', '.join(Scope.values)}.",
            code="invalid_scopes",
            details={"unknown": unknown},
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("The expiry must be in the future.", code="invalid_expiry")
    prefix = settings.API_KEY_PREFIX + secrets.token_hex(4)
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = APIKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=api_key_hash(raw_key),
        created_by=actor,
        expires_at=expires_at,
        scopes=scopes,
    )
    audit_log_record(
        event_type="api_key.created",
        organization=organization,
        actor=actor,
        target=api_key,
        extra={"name": name, "scopes": scopes},
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(
    *,
    organization: Organization,
    actor: User | None,
    api_key_id: int,
    actor_membership: Membership | None = None,
) -> APIKey:
    if actor_membership is not None:
        require_permission(membership=actor_membership, permission=Permission.MANAGE_API_KEYS)
    api_key = APIKey.objects.select_for_update().filter(organization=organization, id=api_key_id).first()
    if api_key is None:
        raise NotFound("No such API key.")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        transaction.on_commit(partial(api_key_forget, key_hash=api_key.key_hash))
        audit_log_record(event_type="api_key.revoked", organization=organization, actor=actor, target=api_key)
    return api_key


def api_key_touch(*, api_key: APIKey) -> None:
    """Record use at most once a minute, so a busy key does not write on every request."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        APIKey.objects.filter(organization_id=api_key.organization_id, id=api_key.id).update(last_used_at=now)
        api_key.last_used_at = now


# --- Login records ---


def login_record_create(*, user: User | None, email_attempted: str, succeeded: bool, request) -> LoginRecord:
    user_agent = (request.META.get("HTTP_USER_AGENT") or "")[:1000] if request is not None else ""
    parsed = parse_user_agent(user_agent)
    if parsed.is_mobile:
        device_kind = "Mobile"
    elif parsed.is_tablet:
        device_kind = "Tablet"
    elif parsed.is_pc:
        device_kind = "Computer"
    elif parsed.is_bot:
        device_kind = "Bot"
    else:
        device_kind = "Other"
    device_name = " ".join(filter(None, [parsed.device.brand, parsed.device.model])) if parsed.device.brand else ""
    return LoginRecord.objects.create(
        user=user,
        email_attempted=(email_attempted or "")[:254],
        succeeded=succeeded,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=user_agent,
        browser=f"{parsed.browser.family} {parsed.browser.version_string}".strip()[:100],
        operating_system=f"{parsed.os.family} {parsed.os.version_string}".strip()[:100],
        device=(f"{device_kind} {device_name}".strip())[:100],
    )


def client_ip(request) -> str | None:
    """The client's address: the peer, or behind TRUSTED_PROXY_COUNT proxies the X-Forwarded-For entry the first
    of them wrote. Entries left of it are whatever the client sent, so they never count (rate limits, login
    records and audit logs would be forged otherwise)."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


@transaction.atomic
def user_update_profile(*, user: User, full_name: str, phone_number: str) -> User:
    user.full_name = full_name.strip()[:150]
    user.phone_number = phone_number.strip()[:20]
    user.save(update_fields=["full_name", "phone_number"])
    audit_log_record(event_type="user.profile_updated", actor=user, target=user)
    return user
