"""What the steps of a dispatch round hand each other: a provider's share of a claimed batch, the round's counts,
and the two outcomes the engine makes up itself (no provider said them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from messaging.models import DispatchAttempt, Message, Provider
from messaging.providers.base import ProviderConnectionError, ProviderError

NOT_ATTEMPTED_CODE = "not_attempted"


class NotAttempted(ProviderConnectionError):
    """Left unsent because the provider failed the items before it in this batch (not its own failure)."""

    default_code = NOT_ATTEMPTED_CODE


class NeverReceived(ProviderError):
    """Reconcile: the provider confirms it never received this hand-over."""

    default_code = "never_received"


@dataclass
class DispatchGroup:
    """The messages of one claimed batch routed to one provider under one sender name, each with its in-flight
    attempt; `month` is the calendar month their quota was reserved in; `sender_name` the name they go out with
    ("" = the route's own)."""

    provider: Provider
    items: list[tuple[DispatchAttempt, Message]]
    month: date
    sender_name: str = ""

    @property
    def wire_sender_name(self) -> str:
        return self.sender_name or self.provider.sender_name


@dataclass
class DispatchSummary:
    rounds: int = 0
    claimed: int = 0
    accepted: int = 0
    requeued: int = 0
    rejected: int = 0
    failed: int = 0
    no_route: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)
    # The run stopped at its round limit with messages possibly still due: another run must follow.
    more_left: bool = False
