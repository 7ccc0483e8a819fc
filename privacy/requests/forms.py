"""Forms for the privacy centre, the public request form, the contact form and admin reason prompts."""

from django import forms

from privacy.requests.intake import objection_choices
from privacy.requests.models import RequestKind, VerificationMethod
from privacy.requests.selectors import staff_assignees

UPDATE_FIELD_LABELS = {
    "full_name": "Correct name",
    "phone_number": "Correct mobile number",
    "email": "Correct e-mail address",
    "other": "Anything else to correct",
}


CHECK = {"class": "form-check-input"}


class _RequestFieldsMixin(forms.Form):
    kind = forms.ChoiceField(
        choices=RequestKind.choices, widget=forms.RadioSelect(attrs=CHECK), label="What do you want to do?"
    )
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=10000,
        help_text="Anything that helps us find your data or understand the request.",
    )
    change_full_name = forms.CharField(label=UPDATE_FIELD_LABELS["full_name"], required=False, max_length=150)
    change_phone_number = forms.CharField(label=UPDATE_FIELD_LABELS["phone_number"], required=False, max_length=20)
    change_email = forms.EmailField(label=UPDATE_FIELD_LABELS["email"], required=False)
    change_other = forms.CharField(
        label=UPDATE_FIELD_LABELS["other"],
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    objections = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs=CHECK),
        label="Processing you object to",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objections"].choices = objection_choices()

    def requested_changes(self) -> dict:
        return {
            field: self.cleaned_data.get(f"change_{field}", "")
            for field in UPDATE_FIELD_LABELS
            if self.cleaned_data.get(f"change_{field}")
        }


class UserRequestForm(_RequestFieldsMixin):
    """A signed-in user's request: the account proves who they are."""


class PublicRequestForm(_RequestFieldsMixin):
    full_name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(label="Your e-mail address", help_text="We acknowledge and answer here.")
    phone_number = forms.CharField(
        max_length=20,
        required=False,
        label="Your mobile number",
        help_text="The number that received SMS through this portal, e.g. 0917 123 4567.",
    )
    verification_method = forms.ChoiceField(
        choices=[
            (VerificationMethod.EMAIL, "Send me a link by e-mail"),
            (VerificationMethod.SMS, "Send me a code by SMS (proves the mobile number is yours)"),
        ],
        initial=VerificationMethod.EMAIL,
        widget=forms.RadioSelect(attrs=CHECK),
        label="How do we check it is you?",
    )


class PhoneProofForm(forms.Form):
    """Privacy centre: the number to prove, then the code sent to it."""

    phone_number = forms.CharField(max_length=20, label="Mobile number", help_text="e.g. 0917 123 4567")
    code = forms.CharField(max_length=12, required=False, label="Code from the SMS")


class StaffPhoneProofForm(forms.Form):
    """Admin: staff mark a requester's number proven, saying how they checked it."""

    phone_number = forms.CharField(
        max_length=20, required=False, help_text="Leave empty to use the number on the request."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=2000,
        label="How was the number checked?",
        help_text="e.g. the requester called from it and answered the security questions",
    )


class SmsCodeForm(forms.Form):
    code = forms.CharField(max_length=12, label="Code from the SMS")


class RequesterReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=10000, label="Your answer")


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False)
    phone_number = forms.CharField(max_length=20, required=False, help_text="e.g. 0917 123 4567")


class ContactForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(label="Your e-mail address")
    phone_number = forms.CharField(max_length=20, required=False, label="Mobile number (optional)")
    subject = forms.CharField(max_length=200)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=10000)
    is_privacy = forms.BooleanField(required=False, label="This is about my personal data")
    # A field people never see: bots fill it in.
    website = forms.CharField(required=False, widget=forms.HiddenInput)


class ReasonForm(forms.Form):
    """Admin actions that need a reason (extend, reject, staff verification)."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=5000)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=None, required=False, empty_label="Nobody")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_assignees()


class RecordReceivedRequestForm(forms.Form):
    """Staff type in a request received by e-mail or letter (admin)."""

    kind = forms.ChoiceField(choices=RequestKind.choices)
    received_at = forms.DateTimeField(
        help_text="When it reached us (Philippine time), e.g. 2026-11-20 14:30: the 30 days count from then.",
        input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"],
    )
    email = forms.EmailField(help_text="Where we answer; the acknowledgement goes there at once.")
    full_name = forms.CharField(required=False, max_length=150)
    phone_number = forms.CharField(required=False, max_length=20)
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "cols": 80}), required=False, max_length=10000)
    objections = forms.MultipleChoiceField(choices=(), required=False, widget=forms.CheckboxSelectMultiple)
    identity_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        required=False,
        max_length=2000,
        help_text="How you checked who sent it. Leave empty and the requester confirms by the e-mailed link.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objections"].choices = objection_choices()
