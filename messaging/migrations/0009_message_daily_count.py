"""Messages per organization, Manila day of creation and status, kept as messages change (the dashboard reads
these instead of counting two weeks of messages). The existing messages are counted once here."""

import zoneinfo

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import TruncDate


def count_existing_messages(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    MessageDailyCount = apps.get_model("messaging", "MessageDailyCount")
    rows = (
        Message._base_manager.annotate(day=TruncDate("created_at", tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)))
        .values("organization_id", "day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    MessageDailyCount._base_manager.bulk_create(
        (
            MessageDailyCount(
                organization_id=row["organization_id"], day=row["day"], status=row["status"], messages=row["n"]
            )
            for row in rows.iterator()
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_api_key_scopes"),
        ("messaging", "0008_message_encrypted_at_rest"),
    ]

    operations = [
        migrations.CreateModel(
            name="MessageDailyCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(help_text="Calendar day the messages were created, Asia/Manila")),
                ("status", models.CharField(max_length=10)),
                ("messages", models.BigIntegerField(default=0)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.organization"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("organization", "day", "status"), name="message_daily_count_unique")
                ],
            },
        ),
        migrations.RunPython(count_existing_messages, migrations.RunPython.noop),
    ]
