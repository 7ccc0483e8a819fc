"""Webhook deliveries: the payload (it repeats the message's number and text) encrypted at rest.

Existing rows are encrypted in batches of one short transaction each (the migration is not atomic); values already
encrypted are skipped, so it can run again after a stop."""

from django.db import migrations

import portal.crypto
from portal.key_rotation import decrypt_columns, encrypt_plaintext_columns


def encrypt_payloads(apps, schema_editor):
    encrypt_plaintext_columns(schema_editor.connection, table="messaging_webhookdelivery", columns=["payload"])


def decrypt_payloads(apps, schema_editor):
    decrypt_columns(schema_editor.connection, table="messaging_webhookdelivery", columns=["payload"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0014_otp_phone_encrypted_at_rest"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookdelivery",
            name="payload",
            field=portal.crypto.FastEncryptedJSONField(),
        ),
        migrations.RunPython(encrypt_payloads, decrypt_payloads, elidable=False),
    ]
