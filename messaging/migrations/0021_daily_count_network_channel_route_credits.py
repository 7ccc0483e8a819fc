"""The daily counts split by network, channel and route and carrying the messages' credits, so the log's totals for a
filter on status, network, channel, route and whole days add up a few count rows instead of every matching message.
The existing counts are recounted here with the split (what `manage.py message_daily_counts_rebuild` does)."""

import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.db.models import Case, Count, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate

from messaging.ui_selectors import adapter_reports_receipts


def recount_split(apps, schema_editor):
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
            route=Coalesce("provider_id", 0),
        )
        .values("organization_id", "day", "status", "with_receipts", "network", "channel", "route")
        .annotate(n=Count("id"), credits=Sum("price"))
        .order_by()
    )
    MessageDailyCount._base_manager.bulk_create(
        (
            MessageDailyCount(
                organization_id=row["organization_id"],
                day=row["day"],
                status=row["status"],
                receipts=row["with_receipts"],
                network=row["network"],
                channel=row["channel"],
                route=row["route"],
                messages=row["n"],
                credits=row["credits"] or 0,
            )
            for row in rows.iterator()
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_api_usage_daily"),
        ("messaging", "0020_daily_count_organization_index_redundant"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="messagedailycount", name="message_daily_count_unique_receipts"),
        migrations.AddField(
            model_name="messagedailycount", name="channel", field=models.CharField(default="", max_length=10)
        ),
        migrations.AddField(
            model_name="messagedailycount",
            name="credits",
            field=models.DecimalField(
                decimal_places=4, default=0, help_text="Sum of the messages' price", max_digits=18
            ),
        ),
        migrations.AddField(
            model_name="messagedailycount", name="network", field=models.CharField(default="", max_length=10)
        ),
        migrations.AddField(
            model_name="messagedailycount",
            name="route",
            field=models.IntegerField(default=0, help_text="Id of the provider that took the messages; 0 while none has"),
        ),
        migrations.AddConstraint(
            model_name="messagedailycount",
            constraint=models.UniqueConstraint(
                fields=("organization", "day", "status", "receipts", "network", "channel", "route"),
                name="message_daily_count_unique_key",
            ),
        ),
        migrations.RunPython(recount_split, migrations.RunPython.noop),
    ]
