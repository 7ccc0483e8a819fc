from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from accounts.services import organization_create


class AccountAdapter(DefaultAccountAdapter):
    @transaction.atomic
    def save_user(self, request, user, form, commit=True):
        """Signing up creates the user's own organization with them as its owner, in the same transaction."""
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            name = (form.cleaned_data.get("organization_name") or "").strip() or f"{user.email.split('@')[0]}'s team"
            organization_create(name=name, owner=user)
        return user
