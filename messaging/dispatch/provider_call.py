"""Step 2 of a dispatch round: hand one provider group to its adapter, outside any transaction and holding no
lock. Bulk where the adapter supports it, else one call per message, `SMS_DISPATCH_CALL_THREADS` calls at once
(each thread with its own adapter: a provider that takes one number a call is otherwise bound by its round trip);
our reference for each hand-over is the attempt's `reference` ("a<attempt id>"). Never raises a ProviderError:
one outcome per item, in order. No database access happens here, so the threads need no connection."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from messaging.dispatch.batch import DispatchGroup, NotAttempted
from messaging.models import DispatchAttempt, Message
from messaging.providers.base import (
    OutboundSMS,
    ProviderAdapter,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderQuotaExhausted,
    SendResult,
)
from messaging.providers.registry import provider_adapter_build

logger = logging.getLogger(__name__)

Outcome = SendResult | ProviderError


def group_send(group: DispatchGroup) -> list[Outcome]:
    """One outcome per item of the group: the provider's answer, or the error that stood in for it."""
    try:
        adapter = provider_adapter_build(group.provider, sender_name=group.wire_sender_name)
    except ProviderError as error:
        return [error] * len(group.items)
    with adapter:
        if adapter.supports_bulk and len(group.items) > 1:
            return _send_in_bulk(adapter, group)
        threads = min(_call_threads(), len(group.items))
        if threads > 1:
            return _send_concurrently(group, threads=threads)
        return _send_one_by_one(adapter, group)


def _call_threads() -> int:
    return max(1, settings.SMS_DISPATCH_CALL_THREADS)


def _outbound(attempt: DispatchAttempt, message: Message) -> OutboundSMS:
    return OutboundSMS(
        recipient=message.recipient, body=message.delivery_body or message.body, reference=attempt.reference
    )


def _send_in_bulk(adapter: ProviderAdapter, group: DispatchGroup) -> list[Outcome]:
    provider = group.provider
    size = max(1, adapter.max_bulk)
    outcomes: list[Outcome] = []
    for start in range(0, len(group.items), size):
        chunk = group.items[start : start + size]
        route_error = next((o for o in outcomes if isinstance(o, ProviderQuotaExhausted | ProviderConfigError)), None)
        if route_error is not None:  # the route is closed: do not offer it the rest
            outcomes.extend([route_error] * len(chunk))
            continue
        items = [_outbound(attempt, message) for attempt, message in chunk]
        try:
            results = adapter.send_bulk(items=items)
            if len(results) != len(items):
                raise ProviderConnectionError(
                    f"{provider.name} answered {len(results)} outcomes for {len(items)} messages",
                    code="provider_bad_response",
                )
        except ProviderError as error:
            results = [error] * len(items)
        except Exception as error:  # a bug in an adapter must not leave the batch in flight
            logger.exception("adapter %s send_bulk crashed", provider.adapter)
            results = [ProviderConnectionError(f"adapter error: {error}", code="adapter_error")] * len(items)
        outcomes.extend(results)
    return outcomes


class _OneByOne:
    """The rules of one-number calls, shared by the threads that make them: after SMS_CIRCUIT_FAILURE_THRESHOLD
    retryable failures in a row the rest is not attempted (the breaker will open); after a route-wide error
    (limit reached, bad configuration) the rest gets that error."""

    def __init__(self, group: DispatchGroup) -> None:
        self.group = group
        self.outcomes: list[Outcome | None] = [None] * len(group.items)
        self.consecutive_failures = 0
        self.route_error: ProviderError | None = None
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """The index of the next item to send, or None when none is left; items that must not be sent are given
        their outcome here."""
        with self._lock:
            while self._next < len(self.outcomes):
                index = self._next
                self._next += 1
                if self.route_error is not None:
                    self.outcomes[index] = self.route_error
                elif self.consecutive_failures >= settings.SMS_CIRCUIT_FAILURE_THRESHOLD:
                    provider = self.group.provider
                    self.outcomes[index] = NotAttempted(f"{provider.name} failed the previous messages of this batch")
                else:
                    return index
            return None

    def send(self, adapter: ProviderAdapter, index: int) -> None:
        attempt, message = self.group.items[index]
        item = _outbound(attempt, message)
        try:
            outcome = adapter.send(recipient=item.recipient, body=item.body, reference=item.reference)
        except ProviderError as error:
            outcome = error
        except Exception as error:
            logger.exception("adapter %s send crashed", self.group.provider.adapter)
            outcome = ProviderConnectionError(f"adapter error: {error}", code="adapter_error")
        with self._lock:
            if isinstance(outcome, ProviderQuotaExhausted | ProviderConfigError) and self.route_error is None:
                self.route_error = outcome
            retryable = getattr(outcome, "retryable", False)
            self.consecutive_failures = self.consecutive_failures + 1 if retryable else 0
            self.outcomes[index] = outcome

    def run(self, adapter: ProviderAdapter) -> None:
        while (index := self.take()) is not None:
            self.send(adapter, index)


def _send_one_by_one(adapter: ProviderAdapter, group: DispatchGroup) -> list[Outcome]:
    calls = _OneByOne(group)
    calls.run(adapter)
    return calls.outcomes


def _send_concurrently(group: DispatchGroup, *, threads: int) -> list[Outcome]:
    """`threads` threads take the items in order, each through an adapter of its own (a requests session is not
    shared between threads). A crash of the process loses nothing: the attempts were committed before."""
    calls = _OneByOne(group)

    def work() -> None:
        with provider_adapter_build(group.provider, sender_name=group.wire_sender_name) as adapter:
            calls.run(adapter)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"dispatch-{group.provider.pk}") as pool:
        futures = [pool.submit(work) for _ in range(threads)]
    for future in futures:
        if future.exception() is not None:
            logger.error("a dispatch thread of %s stopped: %r", group.provider.name, future.exception())
    unsent = NotAttempted(f"{group.provider.name}: not sent, a dispatch thread stopped")
    return [outcome if outcome is not None else unsent for outcome in calls.outcomes]
