"""A request's correction values and staff's words about it (extension, rejection and resolution notes, history
notes, evidence and phone-proof notes) encrypted at rest like the requester's own text.

Existing rows are encrypted in batches of one short transaction each (the migration is not atomic); values already
encrypted are skipped, so it can run again after a stop."""

from django.db import migrations

import portal.crypto
from portal.key_rotation import decrypt_columns, encrypt_plaintext_columns

# Table -> the columns of it that are encrypted from here on.
COLUMNS = {
    "privacy_datasubjectrequest": ["requested_changes", "extension_reason", "rejection_reason", "resolution_note"],
    "privacy_requestevent": ["note"],
    "privacy_requestevidence": ["note"],
    "privacy_phoneproof": ["note"],
}


def encrypt_existing(apps, schema_editor):
    for table, columns in COLUMNS.items():
        encrypt_plaintext_columns(schema_editor.connection, table=table, columns=columns)


def decrypt_existing(apps, schema_editor):
    for table, columns in COLUMNS.items():
        decrypt_columns(schema_editor.connection, table=table, columns=columns)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("privacy", "0007_reminder_recipients_encrypted_at_rest"),
    ]

    operations = [
        migrations.AlterField(
            model_name="datasubjectrequest",
            name="extension_reason",
            field=portal.crypto.FastEncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="datasubjectrequest",
            name="rejection_reason",
            field=portal.crypto.FastEncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="datasubjectrequest",
            name="requested_changes",
            field=portal.crypto.FastEncryptedJSONField(
                blank=True, default=dict, help_text="Update: field -> new value"
            ),
        ),
        migrations.AlterField(
            model_name="datasubjectrequest",
            name="resolution_note",
            field=portal.crypto.FastEncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="phoneproof",
            name="note",
            field=portal.crypto.FastEncryptedTextField(blank=True, help_text="How staff checked it"),
        ),
        migrations.AlterField(
            model_name="requestevent",
            name="note",
            field=portal.crypto.FastEncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name="requestevidence",
            name="note",
            field=portal.crypto.FastEncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
    ]
