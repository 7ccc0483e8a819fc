"""Accepting messages: validate, suppress opted-out recipients, charge, store, enqueue; cancel; explain a route.

`message_send` is the one way a message enters the system (dashboard form, CSV upload, API, OTP). It runs in one
transaction: the messages and their charge commit together or not at all, and the worker is woken only after the
commit (a rolled-back send is never dispatched).

Invalid recipients: the whole request is refused with 400 `invalid_recipients` naming every bad input (with its
position), and nothing is stored or charged. An opted-out (suppressed) recipient is not an input error: its
message is stored as `rejected` with error_code `recipient_opted_out`, at no charge, so the caller can see it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_log_record, require_active_organization
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.money import message_price_for
from billing.plan_cache import SendPricing
from messaging.body_search import body_terms
from messaging.dispatch.quota import provider_usage_this_month
from messaging.dispatch.wake import wake_dispatcher_on_commit
from messaging.enqueue import DISPATCH_OTP, DISPATCH_QUEUED
from messaging.models import Message, MessageChannel, MessageStatus, MessageType, Provider
from messaging.numbers import InvalidPhoneNumber, detect_network, normalize_ph_number
from messaging.provider_chain import ChainRoute, enabled_chain
from messaging.routing import RouteState, choose_route, primary_of
from messaging.segments import SegmentInfo, count_segments
from messaging.sender_name_cache import sender_name_default_cached
from messaging.sender_names import sender_name_choose
from messaging.services import daily_counts
from messaging.services.db import lock_rows
from messaging.services.message_store import message_like, messages_insert
from messaging.services.send_statement import messages_store_charged
from messaging.services.status import message_finalize, status_set
from messaging.services.webhooks import webhook_events_record
from portal import hooks
from portal.errors import ApplicationError, Conflict, NotFound
from portal.group_commit import GroupCommit, ItemFailed

MAX_SCHEDULE_AHEAD = timedelta(days=90)
# Sends of up to this many messages are grouped (a larger one already shares its statements among its messages).
GROUPED_SEND_MAX_MESSAGES = 10

logger = logging.getLogger(__name__)


def _parse_recipients(recipients: list[str], *, normalized: bool = False) -> list[str]:
    if isinstance(recipients, str):
        recipients = [recipients]
    if not recipients:
        raise ApplicationError("Give at least one recipient.", code="no_recipients")
    limit = settings.SMS_MAX_RECIPIENTS_PER_REQUEST
    if len(recipients) > limit:
        raise ApplicationError(
            f"{len(recipients)} recipients in one request; the limit is {limit}.", code="too_many_recipients"
        )
    if normalized:
        # Already E.164 from normalize_ph_number (a CSV run validated every row): parsing again would cost more
        # than the rest of the row.
        return list(recipients)
    numbers, errors = [], []
    for index, raw in enumerate(recipients):
        try:
            numbers.append(normalize_ph_number(raw))
        except InvalidPhoneNumber as exc:
            errors.append({"index": index, "input": str(raw)[:40], "message": exc.message})
    if errors:
        names = ", ".join(repr(e["input"]) for e in errors[:10]) + (" …" if len(errors) > 10 else "")
        raise ApplicationError(
            f"{len(errors)} invalid recipient(s): {names}. Nothing was sent or charged.",
            code="invalid_recipients",
            details={"recipients": errors},
        )
    return numbers


def _validate_body(body: str):
    if not isinstance(body, str) or not body.strip():
        raise ApplicationError("The message body is empty.", code="empty_body")
    info = count_segments(body)
    if len(body) > settings.SMS_MAX_BODY_CHARACTERS:
        raise ApplicationError(
            f"The message has {len(body)} characters; the limit is {settings.SMS_MAX_BODY_CHARACTERS}.",
            code="body_too_long",
        )
    return info


def _validate_sender_name(organization: Organization, sender_name: str | None, chain: list[ChainRoute]) -> str:
    """The sender name the message asks for (messaging.sender_names decides: an approved name of the
    organization, a route's own name, or the organization's default). The route that takes it records the name
    it actually went out with."""
    if not chain:
        raise ApplicationError(
            "Sending is not available: no SMS route is configured.", code="no_route_configured", status=503
        )
    if sender_name in (None, ""):
        return sender_name_default_cached(organization=organization)
    return sender_name_choose(
        organization=organization, requested=sender_name, route_names={p.sender_name for p in chain}
    )


def _validate_send_at(send_at: datetime | None, now: datetime) -> datetime | None:
    if send_at is None:
        return None
    if timezone.is_naive(send_at):
        raise ApplicationError("send_at needs a time zone (e.g. 2026-12-01T09:00:00+08:00).", code="invalid_send_at")
    if send_at <= now:
        return None  # due already: send now
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise ApplicationError("send_at can be at most 90 days ahead.", code="invalid_send_at")
    return send_at


def _message_type(requested: str | None, *, channel: str, count: int) -> str:
    """Semaphore's message type: the one asked for (its /priority endpoint), else Bulk for a CSV upload or several
    recipients, else Single."""
    if requested:
        return requested
    return MessageType.BULK if channel == MessageChannel.CSV or count > 1 else MessageType.SINGLE


@dataclass(eq=False)
class PreparedSend:
    """A send that passed validation and is priced, not stored yet: what `sends_store` needs to store it."""

    organization: Organization
    actor: object
    api_key: object
    channel: str
    campaign: object
    send_at: datetime | None
    numbers: list[str]
    bodies: list[str]
    infos: dict[str, SegmentInfo]  # per distinct text
    terms: dict[str, str]  # per distinct text: its search words' hashes
    unit_prices: dict[int, Decimal]  # per segment count
    pricing: SendPricing
    template: Message


def message_send(
    *,
    organization: Organization,
    actor=None,
    api_key=None,
    recipients: list[str],
    body: str,
    sender_name: str | None = None,
    send_at: datetime | None = None,
    channel: str,
    message_type: str | None = None,
    delivery_body: str = "",
    bodies: list[str] | None = None,
    campaign=None,
    recipients_normalized: bool = False,
) -> list[Message]:
    """Store, charge and queue one message per recipient (same order as `recipients`).

    `bodies`, when given, holds one text per recipient (a template's merge fields filled in per contact) in place
    of `body`; each is counted and priced on its own. `campaign` links the messages to the campaign they belong to.
    `recipients_normalized`: every recipient is what `normalize_ph_number` returned for it (the CSV run checked each
    row), so it is not parsed again.

    `delivery_body`, when given, is the text the provider receives while `body` is what anyone reading the
    message sees (one-time codes: the code masked). Both must count as the same segments.

    Storing is one transaction (the caller's, when it has one). A small send made outside any transaction shares
    its transaction with the small sends that other threads of the process make at the same moment
    (`portal.group_commit`): the answer is the same as alone, a refusal stays the refused caller's own.

    Raises ApplicationError: `invalid_recipients` (400, details.recipients lists each bad input), `empty_body`,
    `body_too_long`, `too_many_recipients`, `sender_name_not_approved`, `invalid_send_at`, `no_route_configured` (503);
    billing's `insufficient_credits` (402) / `monthly_limit_reached` (403); `organization_suspended` (403).
    Nothing is stored or charged when it raises.
    """
    send = send_prepare(
        organization=organization,
        actor=actor,
        api_key=api_key,
        recipients=recipients,
        body=body,
        sender_name=sender_name,
        send_at=send_at,
        channel=channel,
        message_type=message_type,
        delivery_body=delivery_body,
        bodies=bodies,
        campaign=campaign,
        recipients_normalized=recipients_normalized,
    )
    if (
        settings.SMS_SEND_GROUP_COMMIT
        and len(send.numbers) <= GROUPED_SEND_MAX_MESSAGES
        and not transaction.get_connection().in_atomic_block
    ):
        return _grouped_sends.submit(send)
    [messages] = sends_store([send])
    return messages


def send_prepare(
    *,
    organization: Organization,
    actor=None,
    api_key=None,
    recipients: list[str],
    body: str,
    sender_name: str | None = None,
    send_at: datetime | None = None,
    channel: str,
    message_type: str | None = None,
    delivery_body: str = "",
    bodies: list[str] | None = None,
    campaign=None,
    recipients_normalized: bool = False,
) -> PreparedSend:
    """Validate and price a send (`message_send`'s arguments); writes nothing. Raises what `message_send` raises
    for bad input."""
    if channel not in MessageChannel.values:
        raise ApplicationError(f"Unknown channel {channel!r}.", code="invalid_channel")
    require_active_organization(organization=organization)
    numbers = _parse_recipients(recipients, normalized=recipients_normalized)
    kind = _message_type(message_type, channel=channel, count=len(numbers))
    if bodies is None:
        bodies = [body] * len(numbers)
    elif len(bodies) != len(numbers) or delivery_body:
        raise ValueError("bodies needs one text per recipient and no delivery_body.")
    infos = {text: _validate_body(text) for text in dict.fromkeys(bodies)}
    info = infos[bodies[0]]
    if delivery_body and _validate_body(delivery_body) != info:
        raise ValueError("delivery_body must count as the same segments and encoding as body.")
    chain = enabled_chain()
    requested_sender = _validate_sender_name(organization, sender_name, chain)
    now = timezone.now()
    send_at = _validate_send_at(send_at, now)
    # From a cache (a few seconds old at most): the charge is one conditional UPDATE (billing.charging) that
    # decides under the row lock, only while the account still names this plan, and prices each message again
    # from the plan (another plan by then reprices the rows below).
    pricing = billing_selectors.send_pricing_cached(organization=organization)
    unit_prices = {
        segments: message_price_for(segments=segments, price_per_segment=pricing.plan.price_per_segment)
        for segments in {text_info.segments for text_info in infos.values()}
    }
    # Every message of the send differs from this one only in its number and text (and what follows from them).
    # Copied from a blank message rather than constructed: the constructor walks every field and its default.
    template = message_like(
        _blank_message(),
        organization=organization,
        campaign=campaign,
        delivery_body=delivery_body,
        sender_name=requested_sender or chain[0].sender_name,
        requested_sender_name=requested_sender,
        status=MessageStatus.QUEUED,
        channel=channel,
        message_type=kind,
        created_by=actor if actor is not None and getattr(actor, "pk", None) else None,
        api_key=api_key,
        created_at=now,
        send_at=send_at,
        next_attempt_at=send_at or now,
        status_changed_at=now,
    )
    return PreparedSend(
        organization=organization,
        actor=actor,
        api_key=api_key,
        channel=channel,
        campaign=campaign,
        send_at=send_at,
        numbers=numbers,
        bodies=bodies,
        infos=infos,
        # The search index of each distinct text once: a campaign's shared text is hashed once, not per recipient.
        terms={text: body_terms(text) for text in infos},
        unit_prices=unit_prices,
        pricing=pricing,
        template=template,
    )


@functools.cache
def _blank_message() -> Message:
    """A new message with every field at its default, built once per process, to copy (`message_like`) with the
    fields a send sets (its time-dependent defaults among them)."""
    return Message()


@transaction.atomic
def sends_store(sends: Sequence[PreparedSend]) -> list[list[Message]]:
    """Store, charge and queue prepared sends in one transaction (the caller's, when it has one): each send's
    messages, in the order of the sends. All or nothing: a send that cannot be charged fails them all.

    The statements are shared: one suppression check, one INSERT (with the daily counts), one charge per
    organization (in id order, so two batches lock the same credit accounts in the same order), one wake-up per
    queue."""
    sent = [_messages_built(send) for send in sends]
    suppressed = hooks.suppressed_numbers_by_organization(
        numbers_by_organization=_numbers_by_organization(sends),
    )
    for send, messages in zip(sends, sent, strict=True):
        opted_out = suppressed.get(send.organization.pk, set())
        for message in messages:
            if message.recipient in opted_out:
                message.price = Decimal("0")
                status_set(
                    message,
                    MessageStatus.REJECTED,
                    now=send.template.created_at,
                    error_code="recipient_opted_out",
                    error_message="The recipient asked not to receive messages; not sent and not charged.",
                )
    every_message = [message for messages in sent for message in messages]
    messages_insert(every_message, with_statement=daily_counts.messages_created_statement(every_message))

    charged_by_organization: dict[int, tuple[PreparedSend, list[Message]]] = {}
    for send, messages in zip(sends, sent, strict=True):
        queued = [m for m in messages if m.status == MessageStatus.QUEUED]
        if queued:
            _, charged = charged_by_organization.setdefault(send.organization.pk, (send, []))
            charged.extend(queued)
    for organization_id in sorted(charged_by_organization):
        send, to_charge = charged_by_organization[organization_id]
        _charge(send, to_charge)

    wake = set()
    for send, messages in zip(sends, sent, strict=True):
        queued = sum(1 for m in messages if m.status == MessageStatus.QUEUED)
        if send.channel in (MessageChannel.DASHBOARD, MessageChannel.CSV):
            _audit_send(send, messages, queued=queued)
        rejected = [m for m in messages if m.status == MessageStatus.REJECTED]
        if rejected:
            webhook_events_record(messages=rejected)
        if queued and send.send_at is None:
            # A code goes to the `otp` queue, whose task claims codes only: it overtakes a bulk backlog.
            wake.add(DISPATCH_OTP if send.channel == MessageChannel.OTP else DISPATCH_QUEUED)
    for queue in sorted(wake):
        wake_dispatcher_on_commit(queue)
    return sent


def _messages_built(send: PreparedSend) -> list[Message]:
    """The send's messages, new each time (a batch that failed is stored again from the same send)."""
    return [
        message_like(
            send.template,
            recipient=number,
            network=detect_network(number),
            body=text,
            body_terms=send.terms[text],
            encoding=send.infos[text].encoding,
            segments=send.infos[text].segments,
            price=send.unit_prices[send.infos[text].segments],
        )
        for number, text in zip(send.numbers, send.bodies, strict=True)
    ]


def _numbers_by_organization(sends: Sequence[PreparedSend]) -> dict[int, set[str]]:
    numbers: dict[int, set[str]] = {}
    for send in sends:
        numbers.setdefault(send.organization.pk, set()).update(send.numbers)
    return numbers


def _charge(send: PreparedSend, to_charge: list[Message]) -> None:
    """Charge an organization's queued messages of the batch (priced with `send`'s plan, which is the
    organization's: every send of one organization in a batch read the same cached plan) and reprice those the
    plan the charge found prices otherwise."""
    prices = billing_services.message_charge(
        organization=send.organization,
        message_ids_and_segments=[(m.pk, m.segments) for m in to_charge],
        pricing=send.pricing,
    )
    repriced = [m for m in to_charge if prices.get(m.pk, m.price) != m.price]
    for message in repriced:
        old_price, message.price = message.price, prices[message.pk]
        daily_counts.count_repriced(message, old_price)
    if repriced:
        Message.objects.for_organization(send.organization).bulk_update(repriced, ["price"], batch_size=500)


def _audit_send(send: PreparedSend, messages: list[Message], *, queued: int) -> None:
    """A person's send from the dashboard or a CSV upload is audited. API and one-time-code sends leave no audit
    row of their own: the message rows name the key and channel and the ledger holds each charge."""
    infos = send.infos
    audit_log_record(
        event_type="message.sent",
        organization=send.organization,
        actor=send.actor,
        api_key=send.api_key,
        extra={
            "channel": send.channel,
            "count": len(messages),
            "queued": queued,
            "opted_out": len(messages) - queued,
            "segments": infos[send.bodies[0]].segments if len(infos) == 1 else sum(m.segments for m in messages),
            "campaign": send.campaign.pk if send.campaign is not None else None,
            "scheduled_for": send.send_at.isoformat() if send.send_at else None,
        },
    )


def _sends_store_grouped(sends: Sequence[PreparedSend]) -> Sequence[list[Message] | ItemFailed]:
    """`sends_store` for the grouped small sends (made outside any transaction). On PostgreSQL, one organization
    at a time, in id order: its API sends in one statement (`send_statement`); its other sends, or those that
    statement does not store (a suppressed number, a refused charge), each in a transaction of its own. Every
    part commits on its own, so nothing is raised once one has: a send that fails answers its caller only
    (`ItemFailed`) and no send is stored twice. Elsewhere all of them in one transaction."""
    if connection.vendor != "postgresql":
        return sends_store(sends)
    outcomes: list[list[Message] | ItemFailed] = [ItemFailed(RuntimeError("not stored"))] * len(sends)
    by_organization: dict[int, list[int]] = {}
    for index, send in enumerate(sends):
        by_organization.setdefault(send.organization.pk, []).append(index)
    for organization_id in sorted(by_organization):
        indexes = by_organization[organization_id]
        try:
            stored = _stored_in_one_statement([sends[index] for index in indexes])
        except Exception as exc:  # the statement failed: nothing of this organization was written
            logger.exception("Could not store the sends of organization %s in one statement", organization_id)
            failure = ItemFailed(exc)
            for index in indexes:
                outcomes[index] = failure
            continue
        if stored is not None:
            for index, messages in zip(indexes, stored, strict=True):
                outcomes[index] = messages
            continue
        for index in indexes:
            try:
                [outcomes[index]] = sends_store([sends[index]])
            except Exception as exc:  # this send's own refusal (or error): nothing of it was written
                outcomes[index] = ItemFailed(exc)
    return outcomes


def _stored_in_one_statement(sends: list[PreparedSend]) -> list[list[Message]] | None:
    """One organization's sends stored and charged in one statement, or None when nothing was written: sends
    that are not all API sends priced alike, or what `messages_store_charged` does not store."""
    pricing = sends[0].pricing
    # Priced alike: the same price and the same plan named by the account (which the charge checks). Not the plan
    # objects' equality: the default plan may be an unsaved one, a copy of which each read from the cache is.
    priced_as = (pricing.plan.price_per_segment, pricing.account_plan_id)
    if not all(
        (send.pricing.plan.price_per_segment, send.pricing.account_plan_id) == priced_as
        and send.channel == MessageChannel.API
        for send in sends
    ):
        return None
    sent = [_messages_built(send) for send in sends]
    stored = messages_store_charged(
        organization=sends[0].organization,
        pricing=pricing,
        messages=[message for messages in sent for message in messages],
        now=timezone.now(),
        wake=DISPATCH_QUEUED if any(send.send_at is None for send in sends) else None,
    )
    return sent if stored else None


# One per process: batches form among its threads (gunicorn's gthread workers). At most 64 sends (640 messages) a
# batch keeps its transaction, and the credit account locks it holds, short.
_grouped_sends: GroupCommit[PreparedSend, list[Message]] = GroupCommit(_sends_store_grouped, max_items=64)


@transaction.atomic
def message_cancel(*, organization: Organization, actor=None, api_key=None, message_id: int) -> Message:
    """Cancel a message the worker has not taken yet (usually a scheduled one) and refund it.

    A message already handed to a provider (sending or later) cannot be called back: 409 `not_cancellable`.
    """
    message = (
        lock_rows(Message.objects)
        .select_related("organization", "provider")
        .filter(organization=organization, id=message_id)
        .first()
    )
    if message is None:
        raise NotFound("No such message.")
    if message.status != MessageStatus.QUEUED:
        raise Conflict(
            f"Message {message.pk} is {message.status}; only queued messages can be cancelled.",
            code="not_cancellable",
        )
    message_finalize(
        message,
        MessageStatus.CANCELLED,
        now=timezone.now(),
        error_code="cancelled",
        error_message="Cancelled before sending; refunded.",
    )
    message.save()
    audit_log_record(
        event_type="message.cancelled",
        organization=organization,
        actor=actor,
        api_key=api_key,
        target=message,
    )
    webhook_events_record(messages=[message])
    return message


def messages_cancel_queued(*, organization: Organization, reason: str) -> int:
    """Cancel and refund every message the organization still has waiting (closing it: nothing may go out, and
    nothing it paid for is kept). Runs in the caller's transaction; returns how many were cancelled."""
    messages = list(
        lock_rows(Message.objects)
        .select_related("organization")
        .filter(organization=organization, status=MessageStatus.QUEUED)
    )
    now = timezone.now()
    for message in messages:
        message_finalize(
            message,
            MessageStatus.CANCELLED,
            now=now,
            error_code="organization_closed",
            error_message=f"Cancelled because the organization was closed ({reason}); refunded."[:500],
        )
    Message.objects.for_organization(organization).bulk_update(
        messages, ["status", "status_changed_at", "cancelled_at", "error_code", "error_message"], batch_size=500
    )
    webhook_events_record(messages=messages)
    return len(messages)


@dataclass
class RouteExplanation:
    recipient: str
    network: str
    provider: Provider | None
    sender_name: str
    encoding: str
    segments: int
    price: Decimal
    reason: str
    skipped: list[dict] = field(default_factory=list)
    is_fallback: bool = False

    def as_dict(self) -> dict:
        return {
            "to": self.recipient,
            "network": self.network,
            "provider": self.provider.name if self.provider else None,
            "sender_name": self.sender_name,
            "encoding": self.encoding,
            "segments": self.segments,
            "price": str(self.price),
            "reason": self.reason,
            "is_fallback": self.is_fallback,
            "skipped": self.skipped,
        }


def route_explain(*, organization: Organization, recipient: str, body: str) -> RouteExplanation:
    """Which provider would take this message now, with which sender name and price, and why the providers before
    it in the chain would be skipped. Reads only: nothing is stored, charged or reserved."""
    number = normalize_ph_number(recipient)
    info = _validate_body(body)
    network = detect_network(number)
    providers = list(Provider.objects.order_by("priority", "id"))
    now = timezone.now()
    usage = provider_usage_this_month(providers=providers, now=now)
    chain = [RouteState(provider=p, used_this_month=usage[p.pk]) for p in providers]
    decision = choose_route(chain=chain, network=network, now=now)
    primary = primary_of(chain)
    return RouteExplanation(
        recipient=number,
        network=network,
        provider=decision.provider,
        sender_name=decision.sender_name,
        encoding=info.encoding,
        segments=info.segments,
        price=billing_selectors.message_price(organization=organization, segments=info.segments),
        reason=decision.reason,
        skipped=[skip.as_dict() for skip in decision.skipped],
        is_fallback=bool(primary and decision.skipped_primary_for_fallback(primary.pk)),
    )
