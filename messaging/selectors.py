"""Reads of the messaging engine. Every organization-owned read takes `organization=` and filters by it in the
query; another organization's id raises NotFound exactly like a missing one."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from messaging import stats_selectors
from messaging.body_search import MIN_WORD_LENGTH, messages_with_words, normalised_words, search_count_memory
from messaging.models import (
    DispatchAttempt,
    Message,
    MessageStatus,
    Notice,
    OtpChallenge,
    Provider,
    WebhookDelivery,
    WebhookEndpoint,
)
from messaging.numbers import InvalidPhoneNumber, Network, normalize_ph_number
from portal.crypto import phone_lookup_hash
from portal.errors import ApplicationError, NotFound
from portal.timezone import operator_tz

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


# --- messages ---


def message_get(*, organization, message_id: int) -> Message:
    message = Message.objects.select_related("provider").filter(organization=organization, id=message_id).first()
    if message is None:
        raise NotFound("No such message.")
    return message


@dataclass(frozen=True)
class MessageFilters:
    """Parsed filters of the message log. Each field is optional; strings come from query parameters."""

    status: tuple[str, ...] = ()
    network: tuple[str, ...] = ()
    provider: str = ""
    channel: str = ""
    recipient: str = ""
    campaign: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str = ""

    @classmethod
    def from_params(cls, params) -> MessageFilters:
        """Build from a QueryDict/dict: status=sent,delivered network=globe provider=<name> channel=api
        to=+639... created_from / created_to (ISO date or datetime; a date means that whole day in Manila)
        q=words of the text (every word must be in the message, whole, any case or accents)."""

        def split(name: str, allowed: list[str]) -> tuple[str, ...]:
            values = tuple(v for v in (params.get(name) or "").split(",") if v)
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ApplicationError(
                    f"Unknown {name} {', '.join(unknown)}; choose from {', '.join(allowed)}.",
                    code="invalid_filter",
                    details={name: unknown},
                )
            return values

        return cls(
            status=split("status", MessageStatus.values),
            network=split("network", Network.values),
            provider=(params.get("provider") or "").strip(),
            channel=(params.get("channel") or "").strip(),
            recipient=(params.get("to") or "").strip(),
            campaign=_parse_id(params.get("campaign"), "campaign"),
            created_from=_parse_moment(params.get("created_from"), "created_from", end_of_day=False),
            created_to=_parse_moment(params.get("created_to"), "created_to", end_of_day=True),
            search=_parse_search(params.get("q")),
        )


def _parse_search(raw: str | None) -> str:
    query = (raw or "").strip()
    if query and not normalised_words(query):
        problem = f"{query!r} has no word to look for (words of {MIN_WORD_LENGTH} or more letters or digits)."
        raise ApplicationError(f"q: {problem}", code="invalid_filter", details={"q": [problem]})
    return query


def _parse_id(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63):
        raise ApplicationError(f"{name}: {raw!r} is not an id.", code="invalid_filter", details={name: [raw]})
    return int(raw)


def _parse_moment(raw: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    """An ISO date or datetime; a date alone means that whole day in Manila (through 23:59:59.999999 for an upper
    bound). An impossible date (2026-02-30) is refused like a malformed one, naming the parameter."""
    if not raw:
        return None
    problem = f"{raw!r} is not an ISO date (2026-10-30) or datetime (2026-10-30T14:00:00+08:00)."
    try:
        day = parse_date(raw)
        if day is not None:
            moment = datetime.combine(day, datetime.max.time() if end_of_day else datetime.min.time())
        else:
            moment = parse_datetime(raw)
    except ValueError as exc:
        problem = f"{raw!r} is not a valid date: {exc}."
        moment = None
    if moment is None:
        raise ApplicationError(f"{name}: {problem}", code="invalid_filter", details={name: [problem]})
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=operator_tz())
    return moment


def recipient_lookup_hash(number: str) -> str:
    """The `recipient_hash` of a number typed in any accepted form (the column hashes the E.164 form)."""
    with contextlib.suppress(InvalidPhoneNumber):  # a number that does not parse matches nothing
        number = normalize_ph_number(number)
    return phone_lookup_hash(number)


def message_list(*, organization, filters: MessageFilters | None = None) -> QuerySet[Message]:
    """The organization's messages, newest first, provider loaded (no query per row)."""
    filters = filters or MessageFilters()
    # The list shows the route's name: its encrypted credentials are not decrypted per row, nor a code's text.
    queryset = (
        Message.objects.filter(organization=organization)
        .select_related("provider")
        .defer("delivery_body", "body_terms", "provider__credentials")
    )
    if filters.status:
        queryset = queryset.filter(status__in=filters.status)
    if filters.network:
        queryset = queryset.filter(network__in=filters.network)
    if filters.provider:
        queryset = queryset.filter(provider__name=filters.provider)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.recipient:
        queryset = queryset.filter(recipient_hash=recipient_lookup_hash(filters.recipient))
    if filters.campaign is not None:
        queryset = queryset.filter(campaign_id=filters.campaign)
    if filters.created_from:
        queryset = queryset.filter(created_at__gte=filters.created_from)
    if filters.created_to:
        queryset = queryset.filter(created_at__lte=filters.created_to)
    # The text is encrypted: a search matches the keyed hashes of its words (messaging.body_search), each whole.
    if filters.search:
        queryset = messages_with_words(queryset, filters.search)
    return queryset.order_by("-created_at", "-id")


def encode_cursor(message: Message) -> str:
    return _cursor(message.created_at, message.pk)


def _cursor(created_at: datetime, pk: int) -> str:
    raw = json.dumps([created_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at_raw, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at = datetime.fromisoformat(created_at_raw)
        if timezone.is_naive(created_at) or not isinstance(pk, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ApplicationError("Invalid cursor.", code="invalid_cursor")
    return created_at, pk


@dataclass
class Page:
    results: list
    next_cursor: str | None
    # A `before` cursor to the newer page; None on the newest page.
    previous_cursor: str | None = None


def message_page(
    *,
    organization,
    filters: MessageFilters | None = None,
    cursor: str | None = None,
    before: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page:
    """One page of `message_list`, keyset-paginated on (created_at, id) descending: `cursor` gives the page older
    than a row, `before` the page newer than a row (read ascending from it, then turned round). One query either way.

    The redundant `created_at <= cursor` bound lets PostgreSQL use the (organization, created_at, id) index
    range; the OR alone would not (see shared/performance-notes.md)."""
    queryset = message_list(organization=organization, filters=filters)
    return _keyset_page(queryset, cursor=cursor, before=before, page_size=page_size, key=_message_key)


# What the message list shows (the API's message and the log's row), read as values: building a model instance
# (and its route's) per row was the largest item of the list endpoint's CPU time.
LIST_COLUMNS = (
    "id",
    "organization_id",
    "recipient",
    "sender_name",
    "body",
    "encoding",
    "segments",
    "price",
    "status",
    "network",
    "channel",
    "created_at",
    "send_at",
    "sent_at",
    "delivered_at",
    "failed_at",
    "cancelled_at",
    "status_changed_at",
    "error_code",
    "error_message",
    "provider_id",
    "provider__name",
    "provider__adapter",
)


def message_row_page(
    *,
    organization,
    filters: MessageFilters | None = None,
    cursor: str | None = None,
    before: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page:
    """`message_page` with each message as a dict of `LIST_COLUMNS` (the number and the text decrypted, the route's
    name and adapter joined): the same query and order, no model instances."""
    queryset = message_list(organization=organization, filters=filters).values(*LIST_COLUMNS)
    return _keyset_page(queryset, cursor=cursor, before=before, page_size=page_size, key=_row_key)


def _message_key(message: Message) -> tuple[datetime, int]:
    return message.created_at, message.pk


def _row_key(row: dict) -> tuple[datetime, int]:
    return row["created_at"], row["id"]


def _keyset_page(queryset, *, cursor: str | None, before: str | None, page_size: int, key) -> Page:
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    if before:
        created_at, pk = decode_cursor(before)
        newer = queryset.filter(created_at__gte=created_at).filter(
            Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk)
        )
        rows = list(newer.order_by("created_at", "id")[: page_size + 1])
        has_newer = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        # The page was reached from an older one, so older rows exist past its last row.
        return Page(
            results=rows,
            next_cursor=_cursor(*key(rows[-1])) if rows else None,
            previous_cursor=_cursor(*key(rows[0])) if has_newer and rows else None,
        )
    if cursor:
        created_at, pk = decode_cursor(cursor)
        queryset = queryset.filter(created_at__lte=created_at).filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk)
        )
    rows = list(queryset[: page_size + 1])
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(
        results=rows,
        next_cursor=_cursor(*key(rows[-1])) if has_more and rows else None,
        # Reached through a cursor: the rows newer than this page's first are the page before it.
        previous_cursor=_cursor(*key(rows[0])) if cursor and rows else None,
    )


@dataclass(frozen=True)
class MessageTotals:
    messages: int
    credits: Decimal
    # More than `messages` match: a filter counted from the messages stops counting there (credits then unknown).
    more: bool = False


# A filter on a number, a campaign or words is counted from the matching messages, up to this many: reading every
# message a common word matches takes a second at a million, and "more than 10,000" is all such a count tells.
TOTALS_COUNT_LIMIT = 10_000


def message_totals(*, organization, filters: MessageFilters | None = None) -> MessageTotals:
    """How many messages the filter matches and the credits they cost.

    A filter on status, network, channel, route and creation time is answered from the kept daily counts
    (`MessageDailyCount`: a few rows a day, whatever the number of messages) for the whole Manila days it covers, and
    by counting the messages themselves for the part of a day at either end of a range that starts or ends within
    one (at most a day's messages each). A filter on a number, a campaign or words counts the matching messages
    (one aggregate over the log's own filtered queryset, the same index), up to TOTALS_COUNT_LIMIT of them."""
    filters = filters or MessageFilters()
    if filters.recipient or filters.campaign is not None or filters.search:
        return _totals_counted_from_messages(organization, filters, limit=TOTALS_COUNT_LIMIT)
    plan = _day_plan(filters.created_from, filters.created_to)
    if plan is None:  # within one day
        return _totals_counted_from_messages(organization, filters)
    first_day, last_day, part_days = plan
    totals = MessageTotals(messages=0, credits=Decimal("0"))
    if first_day is None or last_day is None or first_day <= last_day:
        messages, credits = stats_selectors.message_totals_counted(
            organization=organization,
            first_day=first_day,
            last_day=last_day,
            statuses=filters.status,
            networks=filters.network,
            channel=filters.channel,
            routes=_route_ids(filters.provider) if filters.provider else None,
        )
        totals = MessageTotals(messages=messages, credits=credits)
    for created_from, created_to in part_days:
        part = _totals_counted_from_messages(
            organization, replace(filters, created_from=created_from, created_to=created_to)
        )
        totals = MessageTotals(messages=totals.messages + part.messages, credits=totals.credits + part.credits)
    return totals


def _route_ids(name: str) -> list[int]:
    """The ids of the routes (providers) the log's `provider` filter names."""
    return list(Provider.objects.filter(name=name).values_list("id", flat=True))


def _totals_counted_from_messages(organization, filters: MessageFilters, *, limit: int | None = None) -> MessageTotals:
    queryset = message_list(organization=organization, filters=filters).order_by()
    if limit is not None:
        # Counted over at most limit + 1 rows (a subquery with LIMIT): one more than the limit means "more".
        queryset = queryset.values("price")[: limit + 1]
    with search_count_memory() if filters.search else contextlib.nullcontext():
        totals = queryset.aggregate(messages=Count("price"), credits=Sum("price"))
    if limit is not None and totals["messages"] > limit:
        return MessageTotals(messages=limit, credits=None, more=True)
    return MessageTotals(messages=totals["messages"], credits=totals["credits"] or Decimal("0"))


def _day_plan(
    created_from: datetime | None, created_to: datetime | None
) -> tuple[date | None, date | None, list[tuple[datetime, datetime]]] | None:
    """How a creation range splits for the totals: (first and last whole Manila day, each None when the range is
    open on that side, and the (from, to) bounds of the parts of a day at its ends). None when the range starts and
    ends within one day and covers less than all of it: no whole day to read from the counts."""
    tz = operator_tz()
    start = created_from.astimezone(tz) if created_from is not None else None
    end = created_to.astimezone(tz) if created_to is not None else None
    starts_within = start is not None and start.time() != time.min
    ends_within = end is not None and end.time() != time.max
    if start is not None and end is not None and start.date() == end.date() and (starts_within or ends_within):
        return None
    parts = []
    first_day = start.date() if start is not None else None
    last_day = end.date() if end is not None else None
    if starts_within:
        day_end = datetime.combine(start.date(), time.max, tzinfo=tz)
        parts.append((start, min(day_end, end) if end is not None else day_end))
        first_day = start.date() + timedelta(days=1)
    if ends_within:
        day_start = datetime.combine(end.date(), time.min, tzinfo=tz)
        parts.append((max(day_start, start) if start is not None else day_start, end))
        last_day = end.date() - timedelta(days=1)
    # A range given backwards (its end before its start) matches nothing, as in the log.
    return first_day, last_day, [(low, high) for low, high in parts if low <= high]


def message_status_counts(*, organization, since: datetime | None = None) -> dict[str, int]:
    """{status: count} for the dashboard (every status present, zeros included)."""
    queryset = Message.objects.filter(organization=organization)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    counts = dict.fromkeys(MessageStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in queryset.values("status").annotate(n=Count("id"))})
    return counts


def message_attempt_list(*, organization, message_id: int) -> list[DispatchAttempt]:
    """The routing decisions / hand-overs of one message, oldest first (stored, not recomputed)."""
    message = message_get(organization=organization, message_id=message_id)
    return list(DispatchAttempt.objects.filter(message=message).select_related("provider").order_by("attempt_number"))


# --- notices ---


def notice_list_active() -> QuerySet[Notice]:
    """Active site notices, newest first (dashboard banner and GET /api/v1/notices)."""
    return Notice.objects.filter(withdrawn_at__isnull=True).order_by("-published_at")


# --- webhooks ---


def webhook_endpoint_get(*, organization) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(organization=organization).first()


def webhook_delivery_list(*, organization, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The organization's webhook delivery log, newest first."""
    queryset = WebhookDelivery.objects.filter(organization=organization)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def webhook_delivery_get(*, organization, delivery_id: int) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.filter(organization=organization, id=delivery_id).first()
    if delivery is None:
        raise NotFound("No such webhook delivery.")
    return delivery


# --- OTP ---


def otp_challenge_get(*, organization, challenge_id: int) -> OtpChallenge:
    challenge = OtpChallenge.objects.filter(organization=organization, id=challenge_id).first()
    if challenge is None:
        raise NotFound("No such OTP challenge.")
    return challenge


# --- providers (staff only: never expose to customers) ---


def provider_chain() -> list[Provider]:
    """Every provider in chain order (enabled or not)."""
    return list(Provider.objects.order_by("priority", "id"))


def sender_names_available() -> list[str]:
    """Sender names a customer may ask for (those of enabled routes), for the send form."""
    return sorted(set(Provider.objects.filter(enabled=True).values_list("sender_name", flat=True)))
