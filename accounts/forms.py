from django import forms

from accounts.roles import Role


class SignupExtraForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    organization_name = forms.CharField(
        max_length=120,
        required=False,
        label="Organization",
        help_text="Your company or team; you can rename it later.",
    )

    def signup(self, request, user):
        user.full_name = self.cleaned_data.get("full_name", "")
        user.save(update_fields=["full_name"])


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=120)


class APIKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key is used, e.g. 'production server'.")
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Optional."
    )


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False)
    phone_number = forms.CharField(max_length=20, required=False)
