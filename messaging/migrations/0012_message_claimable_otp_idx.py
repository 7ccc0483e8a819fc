"""One-time codes ahead of bulk: a partial index of the queued one-time codes, so the claim limited to them
(`dispatch_otp`, and the first claim of every dispatch round) does not walk a bulk backlog."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0011_message_type"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("channel", "otp"), ("status", "queued")),
                fields=["next_attempt_at", "id"],
                name="message_claimable_otp_idx",
            ),
        ),
    ]
