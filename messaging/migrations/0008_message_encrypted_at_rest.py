"""Message bodies and recipient numbers encrypted at rest; the log's `to=` index on the number's keyed hash.

Existing rows are encrypted in batches of one short transaction each (the migration itself is not atomic, so a
large table does not sit in one transaction); values already encrypted are skipped, so it can run again after a
stop."""

from django.db import migrations, models

import portal.crypto
from portal.crypto import PHONE_LOOKUP_PURPOSE
from portal.key_rotation import decrypt_columns, encrypt_plaintext_columns


def encrypt_messages(apps, schema_editor):
    encrypt_plaintext_columns(
        schema_editor.connection,
        table="messaging_message",
        columns=["recipient", "body"],
        hashes={"recipient_hash": ("recipient", PHONE_LOOKUP_PURPOSE)},
    )


def decrypt_messages(apps, schema_editor):
    decrypt_columns(schema_editor.connection, table="messaging_message", columns=["recipient", "body"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0004_api_key_scopes"),
        ("messaging", "0007_message_keys_indexed_once"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="recipient_hash",
            field=portal.crypto.LookupHashField(purpose="lookup.phone", source="recipient"),
        ),
        migrations.AlterField(
            model_name="message",
            name="body",
            field=portal.crypto.FastEncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="message",
            name="recipient",
            field=portal.crypto.FastEncryptedTextField(help_text="E.164, encrypted at rest"),
        ),
        migrations.RunPython(encrypt_messages, decrypt_messages, elidable=False),
        migrations.RemoveIndex(
            model_name="message",
            name="message_org_recipient_idx",
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                fields=["organization", "recipient_hash", "-created_at", "-id"], name="message_org_recipient_idx"
            ),
        ),
    ]
