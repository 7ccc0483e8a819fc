"""A million messages in one organization, with other organizations beside it, written with COPY in minutes.

The data the million-row benchmarks read (`bench/read_latency.py`, `bench/export_csv.py --reuse`): one organization
("Million Org", slug `million-org`) with `--messages` messages (default 1,000,000) spread over `--days` days (default
120, a few months) and `--other-orgs` organizations (default 3) with `--other-messages` each (default 100,000), so
every read must find one organization's rows among others'. Statuses, networks, providers, channels, segments and
send/delivery times are drawn like real traffic (mostly delivered, a few percent failed, rejected, expired or
cancelled, the last minutes still queued or sent); recipients repeat (a customer base of `--recipients` numbers, so
`to=` finds a handful of messages); every organization has an owner and an API key.

Rows are what the model stores: each value goes through its field's `pre_save` and `get_db_prep_save`, so encrypted
fields hold ciphertext and the keyed hash of the number is filled, exactly as `Message.objects.create` would write
them. Distinct values (a number, a text) are encrypted once and reused, which decrypts the same. The dashboard's
daily counts are recounted at the end (`daily_counts_rebuild`) and the table is analyzed.

Run: `.venv/bin/python bench/seed_million.py` (drops and recreates BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/sms_scale); `--if-missing` keeps a database that already holds the seed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sms_scale")

from bench import common  # noqa: E402

MAIN_SLUG = "million-org"


def api_key_path() -> Path:
    """Where the seed keeps the main organization's API key: one file per database, so two seeded databases (say
    one per person at work on the same checkout) do not overwrite each other's key."""
    return common.ROOT / "bench" / ".cache" / f"million-org.{common.database_name()}.key"


# (status, weight) of messages older than the last hour; the last hour also has queued, sending and sent ones.
SETTLED_MIX = [
    ("delivered", 86.0),
    ("sent", 4.0),  # Semaphore's last state for a good message is "Sent"
    ("failed", 4.0),
    ("expired", 1.0),
    ("rejected", 3.0),
    ("cancelled", 2.0),
]
RECENT_MIX = [("queued", 20.0), ("sending", 5.0), ("sent", 40.0), ("delivered", 35.0)]
NETWORK_MIX = [("globe", 34.0), ("smart", 30.0), ("tm", 12.0), ("tnt", 14.0), ("dito", 10.0)]
CHANNEL_MIX = [("api", 70.0), ("csv", 24.0), ("dashboard", 4.0), ("otp", 2.0)]
NETWORK_PREFIX = {"globe": "+63917", "tm": "+63935", "smart": "+63918", "tnt": "+63907", "dito": "+63991"}
BODIES = [
    "Your order {n} has shipped and arrives tomorrow.",
    "Reminder: your appointment is on Monday at 9:00 AM. Reply STOP to opt out.",
    "Your OTP is ******. It expires in 5 minutes.",
    "Payment of PHP {n}.00 received. Thank you!",
    "Flash sale! 20% off everything until midnight. Visit our store.",
    "Hi! Your account balance is low. Top up now to keep sending.",
    "Salamat po! Your delivery {n} is on its way.",
    "Your verification code for the portal has been sent to your e-mail.",
]
UNICODE_BODY = "Maligayang kaarawan! 🎉 Salamat sa inyong tiwala."


def _pick(rng: random.Random, mix: list[tuple[str, float]], count: int) -> list[str]:
    values = [value for value, _ in mix]
    weights = [weight for _, weight in mix]
    return rng.choices(values, weights=weights, k=count)


def _organization(name: str, slug: str):
    from accounts.models import User
    from accounts.services import api_key_create, organization_create
    from billing.services import credits_adjust

    owner = User.objects.create_user(email=f"owner@{slug}.bench.invalid", password=None)
    organization = organization_create(name=name, owner=owner, slug=slug)
    _, raw_key = api_key_create(organization=organization, actor=owner, name="bench")
    credits_adjust(organization=organization, actor=None, amount=Decimal("100000000"), reason="bench", via="bench")
    return organization, raw_key


class RowBuilder:
    """Database values of Message rows, each through its field, with the values that repeat encrypted once."""

    def __init__(self, connection) -> None:
        from messaging.models import Message

        self.connection = connection
        self.fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        self.model = Message
        self._cache: dict[tuple[str, str], object] = {}

    def _db_value(self, instance, field):
        value = field.pre_save(instance, True)
        return field.get_db_prep_save(value, connection=self.connection)

    def template(self, **values) -> tuple[object, dict[str, object]]:
        instance = self.model(**values)
        return instance, {f.attname: self._db_value(instance, f) for f in self.fields}

    def cached(self, instance, names: tuple[str, ...], key: str) -> dict[str, object]:
        """The database values of `names` (fields derived from the same source, e.g. a number and its hash) for
        the instance, computed once per `key`."""
        cache_key = (names, key)
        found = self._cache.get(cache_key)
        if found is None:
            by_name = {f.attname: f for f in self.fields}
            found = {name: self._db_value(instance, by_name[name]) for name in names}
            self._cache[cache_key] = found
        return found


def seed_organization(
    builder: RowBuilder,
    *,
    organization,
    messages: int,
    days: int,
    recipients: int,
    providers: list,
    rng: random.Random,
    now,
) -> float:
    """COPY `messages` rows for the organization, oldest first (ids follow time, as in production)."""
    from messaging.body_search import body_terms
    from messaging.models import MessageStatus

    field_names = {f.attname for f in builder.fields}
    recipient_fields = tuple(n for n in ("recipient", "recipient_hash") if n in field_names)
    body_fields = tuple(n for n in ("body", "body_terms") if n in field_names)  # the text and its search index
    instance, base = builder.template(
        organization=organization,
        recipient="+639170000000",
        network="globe",
        body=BODIES[0],
        sender_name="BENCH",
        encoding="gsm7",
        segments=1,
        price=Decimal("0.5000"),
        status=MessageStatus.DELIVERED,
        channel="api",
        created_at=now,
    )
    terms_by_body: dict[str, str] = {}
    span = timedelta(days=days).total_seconds()
    recent = min(messages // 50, 3_000)  # the newest rows, still on their way
    offsets = sorted(rng.random() * span for _ in range(messages - recent))
    offsets += sorted(span + rng.random() * 3600 for _ in range(recent))
    start = now - timedelta(seconds=span + 3600)
    statuses = _pick(rng, SETTLED_MIX, messages - recent) + _pick(rng, RECENT_MIX, recent)
    number_networks = _pick(rng, NETWORK_MIX, recipients)  # each number belongs to one network
    channels = _pick(rng, CHANNEL_MIX, messages)
    primary, fallback = providers
    quote = builder.connection.ops.quote_name
    started = time.perf_counter()
    with builder.connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {quote(builder.model._meta.db_table)} ({builder.columns}) FROM STDIN") as copy:
            for index in range(messages):
                created_at = start + timedelta(seconds=offsets[index])
                status = statuses[index]
                number_index = rng.randrange(recipients)
                network = number_networks[number_index]
                number = f"{NETWORK_PREFIX[network]}{number_index:07d}"
                unicode_text = rng.random() < 0.03
                body = UNICODE_BODY if unicode_text else BODIES[index % len(BODIES)].format(n=index % 997)
                instance.recipient = number
                instance.body = body
                if "body_terms" in body_fields:
                    instance.body_terms = terms_by_body.get(body) or terms_by_body.setdefault(body, body_terms(body))
                row = dict(base)
                row.update(builder.cached(instance, recipient_fields, number))
                row.update(builder.cached(instance, body_fields, body))
                segments = 2 if rng.random() < 0.08 else 1
                provider = None
                if status not in ("queued", "rejected", "cancelled"):
                    provider = primary if rng.random() < 0.8 else fallback
                elif status == "rejected" and rng.random() < 0.5:
                    provider = primary  # refused by the provider (the rest: opted out before sending)
                row.update(
                    network=network,
                    channel=channels[index],
                    encoding="ucs2" if unicode_text else "gsm7",
                    segments=segments,
                    price=Decimal("0.5000") * segments,
                    status=status,
                    provider_id=provider.pk if provider else None,
                    sender_name=provider.sender_name if provider else "BENCH",
                    provider_message_id=f"b{organization.pk}-{index}" if provider else "",
                    attempts=1 if provider else 0,
                    created_at=created_at,
                    next_attempt_at=created_at,
                    status_changed_at=created_at,
                )
                if provider is not None and status != "sending":
                    row["sent_at"] = created_at + timedelta(seconds=2)
                    row["status_changed_at"] = row["sent_at"]
                if status == "delivered":
                    row["delivered_at"] = created_at + timedelta(seconds=rng.randint(3, 600))
                    row["status_changed_at"] = row["delivered_at"]
                elif status in ("failed", "expired", "rejected", "cancelled"):
                    row[f"{status}_at"] = created_at + timedelta(seconds=rng.randint(3, 3600))
                    row["status_changed_at"] = row[f"{status}_at"]
                    row["error_code"] = {"failed": "absent_subscriber", "expired": "validity_expired"}.get(
                        status, "cancelled" if status == "cancelled" else "recipient_opted_out"
                    )
                copy.write_row([row[f.attname] for f in builder.fields])
    return time.perf_counter() - started


def seed(*, messages: int, other_orgs: int, other_messages: int, days: int, recipients: int, seed_value: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from messaging.models import Provider
    from messaging.services.daily_counts import daily_counts_rebuild
    from messaging.services.providers import provider_seed_demo_chain

    rng = random.Random(seed_value)
    provider_seed_demo_chain(simulator_url="http://127.0.0.1:9")  # never called: the rows are history
    providers = list(Provider.objects.order_by("priority", "id")[:2])
    builder = RowBuilder(connection)
    now = timezone.now()
    figures = {}
    main, raw_key = _organization("Million Org", MAIN_SLUG)
    api_key_path().parent.mkdir(exist_ok=True)
    api_key_path().write_text(raw_key)
    plan = [(main, messages)]
    for index in range(other_orgs):
        other, _ = _organization(f"Neighbour Org {index + 1}", f"neighbour-{index + 1}")
        plan.append((other, other_messages))
    for organization, count in plan:
        seconds = seed_organization(
            builder,
            organization=organization,
            messages=count,
            days=days,
            recipients=recipients,
            providers=providers,
            rng=rng,
            now=now,
        )
        common.log(f"{organization.slug}: {count:,} messages with COPY in {seconds:.1f} s ({count / seconds:,.0f}/s)")
        figures[organization.slug] = (count, seconds)
    started = time.perf_counter()
    rows = daily_counts_rebuild()
    common.log(f"daily counts recounted: {rows:,} rows in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message")
        cursor.execute("ANALYZE messaging_messagedailycount")
    return figures


def seeded(*, messages: int) -> bool:
    """Whether the database already holds the million organization with its messages."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM messaging_message m JOIN accounts_organization o ON o.id = m.organization_id "
                "WHERE o.slug = %s",
                [MAIN_SLUG],
            )
            return cursor.fetchone()[0] >= messages
    except Exception:  # noqa: BLE001 - no such table yet: not seeded
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--other-orgs", type=int, default=3)
    parser.add_argument("--other-messages", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--recipients", type=int, default=200_000, help="distinct numbers per organization")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--if-missing", action="store_true", help="keep a database that already holds the seed")
    args = parser.parse_args(argv)
    if not 1_000 <= args.messages <= 5_000_000 or not 0 <= args.other_orgs <= 20 or not 1 <= args.days <= 1000:
        parser.error("keep it bounded: --messages 1000..5000000, --other-orgs 0..20, --days 1..1000")
    common.postgres_ensure_running()
    if args.if_missing:
        common.django_setup()
        if seeded(messages=args.messages):
            common.log(f"{common.database_name()} already holds the seed; kept")
            return 0
        from django.db import connections

        connections.close_all()
    common.database_recreate()
    common.django_setup()
    started = time.perf_counter()
    figures = seed(
        messages=args.messages,
        other_orgs=args.other_orgs,
        other_messages=args.other_messages,
        days=args.days,
        recipients=args.recipients,
        seed_value=args.seed,
    )
    total = sum(count for count, _ in figures.values())
    copy_seconds = sum(seconds for _, seconds in figures.values())
    print(
        f"seeded {total:,} messages ({args.messages:,} in {MAIN_SLUG}, {args.other_orgs} other organizations) "
        f"in {time.perf_counter() - started:.0f} s; COPY {total / copy_seconds:,.0f} rows/s; "
        f"machine: {os.cpu_count()} cores; goal: minutes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
