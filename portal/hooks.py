"""How a lower layer tells a higher one, without importing it.

The layers go one way (portal <- accounts <- billing <- messaging <- privacy). When a lower layer needs something
only a higher one knows, it calls a hook declared here, and the higher app registers its answer in its
`AppConfig.ready()`:

- `organization_closed` (signal): accounts announces a closed organization; messaging cancels its queue.
- `organization_created` (signal): accounts announces a new organization; billing opens its credit account.
- `statement_traffic`: billing asks for an organization's messages per network and provider for its statement;
  messaging answers.
- `send_suppressions`: messaging asks which of some numbers must not be sent to; privacy answers from objections.
- `processing_objections`: accounts asks whether a person objected to an optional processing; privacy answers.
- `demo_seeders`: `seed_demo` runs each app's demo data in layer order.
- `readiness_checks`: the readiness probe asks every app whether it can serve; privacy answers whether the erasure
  ledger is reachable and no erased person is back after a restore.

Anything more is added here, with the question it asks in its docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.dispatch import Signal

# Sent by `accounts.services.organization_close` inside its transaction, with `organization_id`, `actor_id` and
# `reason`: a receiver's work commits or rolls back with the closing. A receiver may return a dict of facts
# (e.g. {"queued_messages_cancelled": 3}); they are added to the "organization.closed" audit record.
organization_closed = Signal()

# Sent by `accounts.services.organization_create` inside its transaction, with `organization_id`: what the higher
# apps keep per organization from its first day (billing: the credit account, so staff can adjust it at once).
organization_created = Signal()


@dataclass
class Hook:
    """A named list of answers, registered at start-up by the apps that know them."""

    name: str
    doc: str
    _answers: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)

    def register(self, answer: Callable[..., Any], *, key: str | None = None) -> Callable[..., Any]:
        key = key or f"{answer.__module__}.{answer.__qualname__}"
        if any(existing == key for existing, _ in self._answers):
            return answer  # ready() may run twice in tests; registering is idempotent
        self._answers.append((key, answer))
        return answer

    def answers(self) -> list[Callable[..., Any]]:
        return [answer for _, answer in self._answers]

    def call_all(self, **kwargs: Any) -> list[Any]:
        return [answer(**kwargs) for answer in self.answers()]


send_suppressions = Hook(
    "send_suppressions",
    "answer(*, organization_id: int, numbers: Iterable[str]) -> set[str]: numbers that must not be sent to",
)

processing_objections = Hook(
    "processing_objections",
    "answer(*, user_id: int, kind: str) -> bool: True when the person objected to that optional processing",
)

statement_traffic = Hook(
    "statement_traffic",
    "answer(*, organization_id: int, start: datetime, end: datetime) -> list[dict]: the organization's messages "
    "created in [start, end), one row per network and provider: {network, provider, messages, segments, "
    "failed_segments, billable_segments}",
)

demo_seeders = Hook(
    "demo_seeders",
    "answer(*, stdout) -> None: idempotent demo data of one app; registered in layer order",
)

readiness_checks = Hook(
    "readiness_checks",
    "answer() -> list[tuple[str, bool, str]]: (name, ok, detail) for each thing the app needs before it may serve "
    "traffic; the readiness probe (/readyz) calls every answer and is ready only when every ok is True",
)


def suppressed_numbers(*, organization_id: int, numbers: Iterable[str]) -> set[str]:
    """The numbers among `numbers` that no message may be sent to (every registered answer, combined)."""
    numbers = list(numbers)
    suppressed: set[str] = set()
    for answer in send_suppressions.answers():
        suppressed |= set(answer(organization_id=organization_id, numbers=numbers))
    return suppressed


def person_objects_to(*, user_id: int, kind: str) -> bool:
    """True when any registered answer says the person objected to this optional processing."""
    return any(answer(user_id=user_id, kind=kind) for answer in processing_objections.answers())


def traffic_by_network_and_provider(*, organization_id: int, start: datetime, end: datetime) -> tuple[list[dict], bool]:
    """(rows, available) for a statement: every registered answer's rows; not available when nothing answers."""
    answers = statement_traffic.answers()
    rows = [row for answer in answers for row in answer(organization_id=organization_id, start=start, end=end)]
    return rows, bool(answers)
