"""Messages and their credits per organization, Manila calendar day of creation, current status, network, channel
and route, kept as messages are created and change status (`messaging.services.daily_counts`), so the dashboard
reads a few dozen rows instead of counting two weeks of messages on every load, and the log's totals for a filter
on those columns (whole days) add up a few rows a day instead of every matching message.

A row holds how many of the messages the organization created that day are in that status now: a message moving
from `sent` to `delivered` takes one from the day's `sent` row and adds one to its `delivered` row. The rows carry
no personal data and outlive erased or purged messages (the history of what was sent stays countable).

`receipts` splits each day and status by whether the route that carried the messages reports a handset receipt
(Semaphore does not: its good messages stay `sent` for good), so the dashboard's delivered rate leaves those out
from the counts alone. Messages not yet at a provider (queued, sending, refused before one took them) count as
`receipts=True`, like a message with no route.

`credits` is the sum of the messages' `price` (what each was charged, refunded or not: the log's column), moved with
the messages from status to status. A message's network and channel never change once it is stored; `route` is the
provider that took them, counted like `receipts` (0 while they wait, its id from the change that sets it on).
"""

from django.db import models

from portal.tenancy import TenantManager


class MessageDailyCount(models.Model):
    # No index of its own: the unique constraint below leads with it.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField(help_text="Calendar day the messages were created, Asia/Manila")
    status = models.CharField(max_length=10)
    messages = models.BigIntegerField(default=0)
    receipts = models.BooleanField(
        default=True, help_text="Whether the messages' route reports a handset receipt (true while no route has them)"
    )
    network = models.CharField(max_length=10, default="")
    channel = models.CharField(max_length=10, default="")
    # Not a foreign key: 0 (no route yet) is part of the key, where a NULL would make every such row distinct.
    route = models.IntegerField(default=0, help_text="Id of the provider that took the messages; 0 while none has")
    credits = models.DecimalField(max_digits=18, decimal_places=4, default=0, help_text="Sum of the messages' price")

    objects = TenantManager()  # queries must name the organization (portal.tenancy)

    class Meta:
        constraints = [
            # Also the index of the dashboard's read: one organization's days from a date on.
            models.UniqueConstraint(
                fields=["organization", "day", "status", "receipts", "network", "channel", "route"],
                name="message_daily_count_unique_key",
            ),
        ]

    def __str__(self) -> str:
        receipts = "" if self.receipts else " (no receipt)"
        return (
            f"{self.organization_id} {self.day} {self.status} {self.network} {self.channel}{receipts}: {self.messages}"
        )
