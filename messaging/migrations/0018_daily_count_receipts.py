"""The daily counts split by whether the messages' route reports handset receipts, so the dashboard's delivered
rate leaves out the messages of routes without receipts (Semaphore) from the counts alone instead of counting the
week's messages on each load. The existing counts are recounted here with the split (what
`manage.py message_daily_counts_rebuild` does)."""

import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.db.models import Case, Count, Value, When
from django.db.models.functions import TruncDate

from messaging.ui_selectors import adapter_reports_receipts


def recount_with_receipts(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    Provider = apps.get_model("messaging", "Provider")
    MessageDailyCount = apps.get_model("messaging", "MessageDailyCount")
    if schema_editor.connection.vendor == "postgresql":
        # Writers wait for the recount (it runs in the migration's transaction), so none is lost or counted twice.
        schema_editor.execute(f"LOCK TABLE {MessageDailyCount._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    routes = Provider._base_manager.values_list("id", "adapter")
    without_receipts = [pk for pk, adapter in routes if not adapter_reports_receipts(adapter)]
    MessageDailyCount._base_manager.all().delete()
    rows = (
        Message._base_manager.annotate(
            day=TruncDate("created_at", tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)),
            with_receipts=Case(When(provider_id__in=without_receipts, then=Value(False)), default=Value(True)),
        )
        .values("organization_id", "day", "status", "with_receipts")
        .annotate(n=Count("id"))
        .order_by()
    )
    MessageDailyCount._base_manager.bulk_create(
        (
            MessageDailyCount(
                organization_id=row["organization_id"],
                day=row["day"],
                status=row["status"],
                receipts=row["with_receipts"],
                messages=row["n"],
            )
            for row in rows.iterator()
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_api_usage_daily"),
        ("messaging", "0017_idempotent_answers_encrypted_at_rest"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="messagedailycount", name="message_daily_count_unique"),
        migrations.AddField(
            model_name="messagedailycount",
            name="receipts",
            field=models.BooleanField(
                default=True,
                help_text="Whether the messages' route reports a handset receipt (true while no route has them)",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagedailycount",
            constraint=models.UniqueConstraint(
                fields=("organization", "day", "status", "receipts"), name="message_daily_count_unique_receipts"
            ),
        ),
        migrations.RunPython(recount_with_receipts, migrations.RunPython.noop),
    ]
