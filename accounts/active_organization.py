"""The organization a signed-in person works in, kept in their session: one key and one resolver for the web
pages (`accounts.middleware`) and the API (`accounts.api_base`). Membership is checked on every request, so a
person removed from an organization loses it at their next request."""

from accounts.models import Membership, User
from accounts.selectors import membership_get

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization_id"


def session_membership(*, session, user: User) -> Membership | None:
    """The person's membership in the session's active organization; None when the session names none.

    Raises NotFound when the session names an organization the person is not (or no longer) a member of, or one
    that is closed.
    """
    organization_id = session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    if not organization_id:
        return None
    return membership_get(user=user, organization_id=organization_id)


def active_organization_set(*, session, organization_id: int) -> None:
    session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization_id


def active_organization_clear(*, session) -> None:
    session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
