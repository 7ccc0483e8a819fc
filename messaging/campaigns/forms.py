"""Forms of the template and campaign pages: they parse input; the rules are in the services."""

from __future__ import annotations

from django import forms
from django.conf import settings

from messaging.forms import sender_name_choices
from portal.timezone import operator_tz


class TemplateForm(forms.Form):
    name = forms.CharField(label="Template name", max_length=80)
    body = forms.CharField(
        label="Text",
        strip=False,
        max_length=settings.SMS_MAX_BODY_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Merge fields in braces: {name}, or any column you imported, e.g. {city}.",
    )


class CampaignForm(forms.Form):
    name = forms.CharField(label="Campaign name", max_length=120)
    groups = forms.MultipleChoiceField(label="Send to groups", choices=(), widget=forms.CheckboxSelectMultiple)
    template = forms.ChoiceField(label="Template", required=False, choices=())
    body = forms.CharField(
        label="Text",
        required=False,
        strip=False,
        max_length=settings.SMS_MAX_BODY_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Leave empty to use the template's text. Merge fields: {name} or any contact field.",
    )
    sender_name = forms.ChoiceField(required=False, choices=())
    send_at = forms.DateTimeField(
        required=False,
        label="Send at (Philippine time)",
        help_text="Leave empty to send once you confirm the preview.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, groups, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [(str(g.pk), f"{g.name} ({g.member_count})") for g in groups]
        self.fields["template"].choices = [("", "None: type the text")] + [(str(t.pk), t.name) for t in templates]
        self.fields["sender_name"].choices = sender_name_choices()

    def clean_send_at(self):
        send_at = self.cleaned_data.get("send_at")
        if send_at is None:
            return None
        return send_at.replace(tzinfo=operator_tz()) if send_at.tzinfo is None else send_at

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("template") and not (cleaned.get("body") or "").strip():
            self.add_error("body", "Type the text or choose a template.")
        return cleaned
