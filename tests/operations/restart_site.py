"""What the PostgreSQL restart test runs inside a portal process pointed at its private server (`python -c` with
DATABASE_URL set): the site's data before the load, and the state of every message after it.

Each function prints one JSON document on stdout, so the test reads it without a database connection of its own.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from django.core.management import call_command
from django.db.models import Count, Q
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import Organization
from accounts.services import api_key_create
from billing.models import LedgerEntry, LedgerEntryKind
from billing.services import credits_adjust
from messaging.models import AttemptStatus, DispatchAttempt, Message, MessageStatus
from tests.messaging.fixtures_engine import make_chain

DONE = [MessageStatus.SENT, MessageStatus.DELIVERED]


class _Simulator:
    """`make_chain` needs only the simulator's address; the simulator itself runs in the test's process."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def site_build(simulator_url: str, funds: int) -> None:
    """Two organizations with funds and an API key each, and the IPROG-then-Semaphore chain on the simulator."""
    keys = {}
    for name, slug in (("Alpha Retail", "alpha"), ("Bravo Clinic", "bravo")):
        organization = Organization.objects.create(name=name, slug=slug)
        credits_adjust(organization=organization, actor=None, amount=Decimal(funds), reason="restart test funds")
        _, keys[slug] = api_key_create(organization=organization, actor=None, name="restart test")
    make_chain(_Simulator(simulator_url))
    print(json.dumps(keys))


def site_state(wait_seconds: float, database_back_at: float) -> None:
    """Every message with its charges, refunds and accepted hand-overs (after waiting up to `wait_seconds` for the
    queue to settle), what is left in flight, the background tasks by status and those still marked running that
    started before `database_back_at` (a Unix time: the database's last return), and the billing audit's verdict."""
    deadline = time.monotonic() + wait_seconds
    unsettled = Message.objects.unscoped().exclude(status__in=DONE)
    while unsettled.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    charges = Counter(
        LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.CHARGE).values_list("message_id", flat=True)
    )
    refunds = Counter(
        LedgerEntry.objects.unscoped().filter(kind=LedgerEntryKind.REFUND).values_list("message_id", flat=True)
    )
    messages = (
        Message.objects.unscoped()
        .annotate(accepted=Count("dispatch_attempts", filter=Q(dispatch_attempts__status=AttemptStatus.ACCEPTED)))
        .values_list("id", "organization__slug", "recipient", "status", "accepted")
    )
    try:
        call_command("billing_audit")
        audit = "clean"
    except Exception as error:  # noqa: BLE001 - the verdict is reported, the test asserts on it
        audit = str(error)
    print(
        json.dumps(
            {
                "messages": [
                    {
                        "id": pk,
                        "organization": slug,
                        "recipient": recipient,
                        "status": status,
                        "accepted_attempts": accepted,
                        "charges": charges[pk],
                        "refunds": refunds[pk],
                    }
                    for pk, slug, recipient, status, accepted in messages
                ],
                "unsettled_attempts": DispatchAttempt.objects.filter(
                    status__in=[AttemptStatus.IN_FLIGHT, AttemptStatus.UNKNOWN]
                ).count(),
                "tasks": _tasks_by_status(),
                "running_since_the_outage": list(
                    DBTaskResult.objects.filter(
                        status=TaskResultStatus.RUNNING,
                        started_at__lt=datetime.fromtimestamp(database_back_at, tz=UTC),
                    ).values_list("task_path", flat=True)
                ),
                "billing_audit": audit,
            }
        )
    )


def _tasks_by_status() -> dict[str, int]:
    return dict(Counter(DBTaskResult.objects.values_list("status", flat=True)))
