"""The organization a signed-in person works in, kept in their session: one key and one resolver for the web
pages (`accounts.middleware`) and the API (`accounts.api_base`). Membership is checked on every request, so a
person removed from an organization loses it at their next request."""

from accounts.models import Membership, User
from accounts.selectors import membership_get, memberships_for_user

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


def page_memberships(*, session, user: User) -> tuple[Membership | None, list[Membership]]:
    """For a page: the membership to work in and all of the person's memberships (the organization switcher), from
    one query.

    Every page shows the switcher, so the list is read anyway; the active membership is the list's entry for the
    session's organization, which is the row `session_membership` reads (same organizations: active or suspended).
    When the session names none, or one the person no longer belongs to, the first of the list (by name) becomes
    the session's, as before; None when the person belongs to no open organization.
    """
    memberships = list(memberships_for_user(user=user))
    organization_id = session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
    # Compared as text: the session keeps what was stored (an int; a string from an older session reads the same).
    wanted = str(organization_id) if organization_id else None
    membership = next((m for m in memberships if str(m.organization_id) == wanted), None) if wanted else None
    if membership is None:
        if organization_id:
            active_organization_clear(session=session)
        if memberships:
            membership = memberships[0]
            active_organization_set(session=session, organization_id=membership.organization_id)
    return membership, memberships


def active_organization_set(*, session, organization_id: int) -> None:
    session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization_id


def active_organization_clear(*, session) -> None:
    session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
