"""Reminders: the addresses reminded (`ReminderSent.sent_to`, the requester's among them) encrypted at rest.

Existing rows are encrypted in batches of one short transaction each (the migration is not atomic); values already
encrypted are skipped, so it can run again after a stop."""

from django.db import migrations

import portal.crypto
from portal.key_rotation import decrypt_columns, encrypt_plaintext_columns


def encrypt_recipients(apps, schema_editor):
    encrypt_plaintext_columns(schema_editor.connection, table="privacy_remindersent", columns=["sent_to"])


def decrypt_recipients(apps, schema_editor):
    decrypt_columns(schema_editor.connection, table="privacy_remindersent", columns=["sent_to"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("privacy", "0006_encrypted_at_rest"),
    ]

    operations = [
        migrations.AlterField(
            model_name="remindersent",
            name="sent_to",
            field=portal.crypto.FastEncryptedJSONField(default=list),
        ),
        migrations.RunPython(encrypt_recipients, decrypt_recipients, elidable=False),
    ]
