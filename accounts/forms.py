from django import forms

from accounts.roles import Role, Scope, all_scopes


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
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        initial=all_scopes,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do. Give a key only what its program needs.",
    )
    # Set by the page's form, which shows the scope checkboxes: there, none ticked is a mistake. A post without it
    # (a script written before keys had scopes) gets every scope, as keys always had.
    scopes_chosen = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("scopes"):
            if cleaned.get("scopes_chosen"):
                self.add_error("scopes", "Choose at least one scope.")
            else:
                cleaned["scopes"] = all_scopes()
        return cleaned


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False)
    phone_number = forms.CharField(max_length=20, required=False)
