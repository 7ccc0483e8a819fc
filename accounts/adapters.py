from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from django.contrib import messages
from django.db import transaction
from django.urls import reverse

from accounts.active_organization import active_organization_set
from accounts.services import client_ip, invitation_accept, organization_create
from portal.errors import ApplicationError

# The invitation link a visitor opened before signing up: signing up with the invited address joins that
# organization (and proves the address: the e-mail was the invitation) instead of creating an empty one.
INVITATION_SESSION_KEY = "invitation_token"


def invitation_remember(request, *, token: str, email: str) -> None:
    """Remember an opened invitation for the sign-up that may follow, and the address it proved (allauth then
    marks that address verified and fills it into the form)."""
    request.session[INVITATION_SESSION_KEY] = token
    get_adapter(request).stash_verified_email(request, email)


class AccountAdapter(DefaultAccountAdapter):
    @transaction.atomic
    def save_user(self, request, user, form, commit=True):
        """Signing up joins the organization of the invitation the person opened, when it was sent to this
        address; otherwise it creates the user's own organization with them as its owner. Same transaction."""
        user = super().save_user(request, user, form, commit=commit)
        if not commit:
            return user
        token = request.session.pop(INVITATION_SESSION_KEY, None) if request is not None else None
        if token:
            try:
                with transaction.atomic():
                    membership = invitation_accept(token=token, user=user)
            except ApplicationError:
                pass  # withdrawn, expired or sent to another address: the person gets an organization of their own
            else:
                active_organization_set(session=request.session, organization_id=membership.organization_id)
                messages.success(request, f"Welcome to {membership.organization.name}.")
                return user
        name = (form.cleaned_data.get("organization_name") or "").strip() or f"{user.email.split('@')[0]}'s team"
        organization_create(name=name, owner=user)
        return user

    def get_login_redirect_url(self, request):
        """Staff land on admin's index, which lists what needs them (portal.staff_attention); customers on their
        dashboard. A `next` the sign-in form carried wins over both (allauth reads it first)."""
        if request.user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    def get_client_ip(self, request):
        """The address sign-in rate limits count per: the project's one reading of TRUSTED_PROXY_COUNT, so behind a
        proxy each client is counted, not the proxy."""
        return client_ip(request) or super().get_client_ip(request)
