"""The search index of the message text (`Message.body_terms`, messaging.body_search): the column, then the
existing messages indexed in batches by id (each batch decrypts its bodies and writes their terms)."""

from django.db import migrations, models

from messaging.body_search import body_terms

BATCH = 2000


def index_existing_bodies(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    rows = Message._base_manager.exclude(body="").filter(body_terms="").order_by("pk")
    last_pk = 0
    while True:
        batch = list(rows.filter(pk__gt=last_pk).only("pk", "body")[:BATCH])
        if not batch:
            return
        for message in batch:
            message.body_terms = body_terms(message.body)
        Message._base_manager.bulk_update(batch, ["body_terms"], batch_size=BATCH)
        last_pk = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0012_message_claimable_otp_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="body_terms",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(index_existing_bodies, migrations.RunPython.noop, elidable=True),
    ]
