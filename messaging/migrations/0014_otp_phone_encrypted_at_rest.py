"""One-time-password challenges: the number encrypted at rest, found by its keyed hash (`phone_hash`).

Existing rows are encrypted in batches of one short transaction each (the migration is not atomic); values already
encrypted are skipped, so it can run again after a stop."""

from django.db import migrations, models

import portal.crypto
from portal.crypto import PHONE_LOOKUP_PURPOSE
from portal.key_rotation import decrypt_columns, encrypt_plaintext_columns


def encrypt_challenges(apps, schema_editor):
    encrypt_plaintext_columns(
        schema_editor.connection,
        table="messaging_otpchallenge",
        columns=["phone_number"],
        hashes={"phone_hash": ("phone_number", PHONE_LOOKUP_PURPOSE)},
    )


def decrypt_challenges(apps, schema_editor):
    decrypt_columns(schema_editor.connection, table="messaging_otpchallenge", columns=["phone_number"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0013_message_body_terms"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="otpchallenge", name="otp_lookup_idx"),
        migrations.AddField(
            model_name="otpchallenge",
            name="phone_hash",
            field=portal.crypto.LookupHashField(purpose="lookup.phone", source="phone_number"),
        ),
        migrations.AlterField(
            model_name="otpchallenge",
            name="phone_number",
            field=portal.crypto.FastEncryptedTextField(help_text="E.164, encrypted at rest"),
        ),
        migrations.RunPython(encrypt_challenges, decrypt_challenges, elidable=False),
        migrations.AddIndex(
            model_name="otpchallenge",
            index=models.Index(fields=["organization", "phone_hash", "-created_at"], name="otp_lookup_idx"),
        ),
    ]
