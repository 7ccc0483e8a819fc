"""Forms of the address book pages: they parse input; the rules are in the services."""

from __future__ import annotations

from django import forms

from messaging.contacts.importing import MAX_IMPORT_BYTES, ColumnRole


def tag_names(text: str) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class ContactForm(forms.Form):
    phone_number = forms.CharField(label="Mobile number", max_length=40)
    name = forms.CharField(label="Name", max_length=200, required=False)
    tags = forms.CharField(label="Tags", required=False, help_text="Comma-separated, e.g. vip, manila")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A header row naming each column; you choose which column is the number and which the name next.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is too large; the limit is {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class ImportMappingForm(forms.Form):
    """One choice per column of the uploaded file (named `column_<index>`), a group to add the contacts to, tags."""

    group_name = forms.CharField(
        label="Add to group", max_length=80, required=False, help_text="An existing group or a new one; optional"
    )
    tags = forms.CharField(label="Tags", required=False, help_text="Comma-separated, added to every imported contact")

    def __init__(self, *args, header: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        for index, column in enumerate(header):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column, choices=ColumnRole.choices, initial=initial_mapping.get(column, ColumnRole.FIELD)
            )

    def column_fields(self):
        return [self[f"column_{index}"] for index in range(len(self.header))]

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"column_{index}"] for index, column in enumerate(self.header)}


class GroupForm(forms.Form):
    name = forms.CharField(label="Group name", max_length=80)
    description = forms.CharField(label="Description", max_length=200, required=False)


class OptOutForm(forms.Form):
    phone_number = forms.CharField(label="Mobile number", max_length=40)
    reason = forms.CharField(label="Reason", max_length=200, required=False, help_text="e.g. asked by phone")
