"""Forms of the messaging pages: they parse input; the rules (numbers, limits, credits) are in services."""

from __future__ import annotations

from django import forms
from django.conf import settings

from messaging import selectors
from messaging.csv_import import MAX_FILE_BYTES, recipients_from_text
from portal.timezone import operator_tz


def sender_name_choices() -> list[tuple[str, str]]:
    return [("", "Default")] + [(name, name) for name in selectors.sender_names_available()]


class SendForm(forms.Form):
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "09171234567, +639181234567\n0917 765 4321"}),
        help_text="One or more Philippine mobile numbers, separated by commas or new lines.",
    )
    body = forms.CharField(
        label="Message",
        strip=False,
        max_length=settings.SMS_MAX_BODY_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    sender_name = forms.ChoiceField(required=False, choices=())
    send_at = forms.DateTimeField(
        required=False,
        label="Send at (Philippine time)",
        help_text="Leave empty to send now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sender_name"].choices = sender_name_choices()

    def clean_recipients(self) -> list[str]:
        numbers = recipients_from_text(self.cleaned_data["recipients"])
        if not numbers:
            raise forms.ValidationError("Give at least one number.")
        return numbers

    def clean_send_at(self):
        send_at = self.cleaned_data.get("send_at")
        if send_at is None:
            return None
        # The browser's datetime-local has no zone; the form says Philippine time.
        return send_at.replace(tzinfo=operator_tz()) if send_at.tzinfo is None else send_at


class BulkUploadForm(forms.Form):
    name = forms.CharField(
        label="Campaign name",
        max_length=120,
        required=False,
        help_text="How the send is listed among your campaigns; the file name when empty.",
    )
    file = forms.FileField(
        label="CSV file",
        help_text="A header row with a number column (number, phone or to) and optionally a message column.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    body = forms.CharField(
        label="Common message",
        required=False,
        strip=False,
        max_length=settings.SMS_MAX_BODY_CHARACTERS,
        help_text="Used for rows without their own message. Any column can fill it in: Hi {name}!",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    sender_name = forms.ChoiceField(required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sender_name"].choices = sender_name_choices()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is too large; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        return upload


class WebhookForm(forms.Form):
    url = forms.URLField(label="Endpoint URL", max_length=500, assume_scheme="https")
