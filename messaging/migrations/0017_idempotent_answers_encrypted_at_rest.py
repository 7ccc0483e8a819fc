"""Stored idempotent API answers: encrypted at rest (they repeat each message's number and text), with the lookup
hashes of the numbers they name beside them so an erasure by number still finds them.

The hashes are filled while the answers are still readable JSON, then the column is encrypted in batches of one
short transaction each (the migration is not atomic); values already encrypted are skipped, so it can run again
after a stop. The rows live 24 hours, so there are few."""

from django.db import migrations

import portal.crypto
from portal.key_rotation import decrypt_columns, encrypt_plaintext_columns


def fill_recipient_hashes(apps, schema_editor):
    IdempotencyKey = apps.get_model("messaging", "IdempotencyKey")
    for stored in IdempotencyKey.objects.only("pk", "response_body").iterator(chunk_size=1000):
        body = stored.response_body
        results = body.get("results") if isinstance(body, dict) else None
        numbers = {item.get("to") for item in results or [] if isinstance(item, dict) and item.get("to")}
        if numbers:
            hashes = " " + " ".join(sorted(portal.crypto.phone_lookup_hash(n) for n in numbers)) + " "
            IdempotencyKey.objects.filter(pk=stored.pk).update(recipient_hashes=hashes)


def encrypt_answers(apps, schema_editor):
    encrypt_plaintext_columns(schema_editor.connection, table="messaging_idempotencykey", columns=["response_body"])


def decrypt_answers(apps, schema_editor):
    decrypt_columns(schema_editor.connection, table="messaging_idempotencykey", columns=["response_body"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0016_notice_dismissal"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="recipient_hashes",
            field=portal.crypto.LookupHashListField(source="response_body"),
        ),
        migrations.RunPython(fill_recipient_hashes, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="idempotencykey",
            name="response_body",
            field=portal.crypto.FastEncryptedJSONField(),
        ),
        migrations.RunPython(encrypt_answers, decrypt_answers, elidable=False),
    ]
