from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.urls import reverse

from accounts.services import client_ip, organization_create


class AccountAdapter(DefaultAccountAdapter):
    @transaction.atomic
    def save_user(self, request, user, form, commit=True):
        """Signing up creates the user's own organization with them as its owner, in the same transaction."""
        user = super().save_user(request, user, form, commit=commit)
        if commit:
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
