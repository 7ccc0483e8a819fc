"""Reads for accounts. Every organization-owned read takes the organization and filters by it in the query."""

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import (
    APIKey,
    Invitation,
    InvitationStatus,
    LoginRecord,
    Membership,
    Organization,
    OrganizationStatus,
    User,
)
from portal.errors import NotFound


def membership_get(*, user: User, organization_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("organization")
        .filter(
            user=user,
            organization_id=organization_id,
            organization__status__in=[OrganizationStatus.ACTIVE, OrganizationStatus.SUSPENDED],
        )
        .first()
    )
    if membership is None:
        raise NotFound("No such organization.")
    return membership


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__status__in=[OrganizationStatus.ACTIVE, OrganizationStatus.SUSPENDED])
        .order_by("organization__name")
    )


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=organization).order_by("user__email")


def invitation_list_pending(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def api_key_list(*, organization: Organization) -> QuerySet[APIKey]:
    return APIKey.objects.filter(organization=organization).select_related("created_by").order_by("-created_at")


def login_record_list(*, user: User, limit: int = 100) -> list[LoginRecord]:
    return list(LoginRecord.objects.filter(user=user).order_by("-created_at")[:limit])


def user_exists(*, email: str) -> bool:
    """Whether someone already has an account under this address (the invitation page offers sign-in or sign-up)."""
    return User.objects.filter(email__iexact=email.strip()).exists()
