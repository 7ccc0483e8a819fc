"""How a lower layer tells a higher one, without importing it.

The layers go one way (portal <- accounts <- billing <- messaging <- privacy). When a lower layer needs something
only a higher one knows, it calls a hook declared here, and the higher app registers its answer in its
`AppConfig.ready()`:

- `organization_closed` (signal): accounts announces a closed organization; messaging cancels its queue.
- `organization_created` (signal): accounts announces a new organization; billing opens its credit account.
- `statement_traffic`: billing asks for an organization's messages per network and provider for its statement;
  messaging answers.
- `send_suppressions`: messaging asks which of some numbers must not be sent to; messaging's own opt-out lists and
  privacy's objections answer, each with a query (`SuppressionLookup`) that runs in one statement with the others.
- `processing_objections`: accounts asks whether a person objected to an optional processing; privacy answers.
- `demo_seeders`: `seed_demo` runs each app's demo data in layer order.
- `readiness_checks`: the readiness probe asks every app whether it can serve; privacy answers whether the erasure
  ledger is reachable and no erased person is back after a restore.

Anything more is added here, with the question it asks in its docstring.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
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
    "answer(*, organization_id: int, numbers: list[str]) -> SuppressionLookup | None: the query that finds which of "
    "the numbers must not be sent to (None: none can be)",
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


@dataclass(frozen=True)
class SuppressionLookup:
    """One answer to `send_suppressions`: `sql` selects a column named `phone_hash`, the stored hash of each
    number it finds among those asked about (`hashes_in` writes the condition); `numbers_by_hash` gives back the
    numbers asked about by those hashes; `narrow`, when set, drops numbers from what was found (privacy's
    exceptions: rare, so a second query only then)."""

    sql: str
    params: list
    numbers_by_hash: Mapping[str, Collection[str]]
    narrow: Callable[[set[str]], set[str]] | None = None


def hashes_in(column: str, hashes: Collection[str]) -> tuple[str, list]:
    """SQL condition and parameters: `column` is one of `hashes` (PostgreSQL: one array parameter, the same index
    probes as an IN list of a thousand, without a thousand placeholders)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(hashes)]
    return f"{column} IN ({', '.join(['%s'] * len(hashes))})", list(hashes)


def suppressed_numbers(*, organization_id: int, numbers: Iterable[str]) -> set[str]:
    """The numbers among `numbers` that no message may be sent to (every registered answer, in one statement)."""
    return suppressed_numbers_by_organization(numbers_by_organization={organization_id: numbers}).get(
        organization_id, set()
    )


def suppressed_numbers_by_organization(*, numbers_by_organization: Mapping[int, Iterable[str]]) -> dict[int, set[str]]:
    """{organization id: the numbers among its own that it may not send to}, every organization's answers in one
    statement (an organization's opt-outs are its own: a number suppressed for one may be sent to by another)."""
    owners, lookups = [], []
    for organization_id, numbers in numbers_by_organization.items():
        numbers = list(numbers)
        if not numbers:
            continue
        for answer in send_suppressions.answers():
            owners.append(organization_id)
            lookups.append(answer(organization_id=organization_id, numbers=numbers))
    suppressed: dict[int, set[str]] = defaultdict(set)
    for index, numbers in _lookups_found(lookups).items():
        suppressed[owners[index]] |= numbers
    return dict(suppressed)


def suppression_lookups_run(lookups: Iterable[SuppressionLookup | None]) -> set[str]:
    """The numbers the lookups find, all lookups run as one statement (`UNION ALL`)."""
    return set().union(*_lookups_found(list(lookups)).values())


def suppression_statement(*, organization_id: int, numbers: Iterable[str]) -> tuple[str, list] | None:
    """Every registered answer's lookup for one organization's numbers as one SELECT (SQL, parameters) of the
    `phone_hash` of each suppressed number (None: nothing to look up), for a caller that runs it inside a statement
    of its own. It may find a number that `suppressed_numbers` would not (an answer's `narrow` is not applied):
    a caller that finds anything must ask `suppressed_numbers` before sending."""
    numbers = list(numbers)
    if not numbers:
        return None
    return _union_statement(
        [answer(organization_id=organization_id, numbers=numbers) for answer in send_suppressions.answers()]
    )


def _union_statement(lookups: list[SuppressionLookup | None]) -> tuple[str, list] | None:
    sql = " UNION ALL ".join(
        f"SELECT {index} AS source, found.phone_hash FROM ({lookup.sql}) AS found"  # noqa: S608 - the answers' SQL
        for index, lookup in enumerate(lookups)
        if lookup is not None
    )
    if not sql:
        return None
    return sql, [param for lookup in lookups if lookup is not None for param in lookup.params]


def _lookups_found(lookups: list[SuppressionLookup | None]) -> dict[int, set[str]]:
    """{index in `lookups`: the numbers that lookup finds}, every lookup in one statement (`UNION ALL`)."""
    statement = _union_statement(lookups)
    if statement is None:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        rows = cursor.fetchall()
    found: dict[int, set[str]] = defaultdict(set)
    for source, hashed in rows:
        found[source].update(lookups[source].numbers_by_hash.get(hashed, ()))
    for source, numbers in found.items():
        narrow = lookups[source].narrow
        if narrow is not None and numbers:
            found[source] = narrow(numbers)
    return found


def person_objects_to(*, user_id: int, kind: str) -> bool:
    """True when any registered answer says the person objected to this optional processing."""
    return any(answer(user_id=user_id, kind=kind) for answer in processing_objections.answers())


def traffic_by_network_and_provider(*, organization_id: int, start: datetime, end: datetime) -> tuple[list[dict], bool]:
    """(rows, available) for a statement: every registered answer's rows; not available when nothing answers."""
    answers = statement_traffic.answers()
    rows = [row for answer in answers for row in answer(organization_id=organization_id, start=start, end=end)]
    return rows, bool(answers)
