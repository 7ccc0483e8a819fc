"""What differs between the simulated provider APIs: routes, field names, answers and error bodies.

The server (`messaging.simulator.server`) runs the same steps for every API (latency, forced errors, the API key,
number checks, the monthly quota, storing the message and its receipt); at each step it asks the API's
`ProviderProtocol` how that provider says it. One subclass per provider: `iprog.IprogProtocol`,
`semaphore.SemaphoreProtocol`.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar

from messaging.simulator.api_settings import ApiSettings

# An answer: (HTTP status, JSON-able body or plain text, extra headers).
Answer = tuple[int, Any, dict[str, str]]


class Reply(Exception):
    """Raised inside a handler to answer at once with (status, body, headers)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def now() -> datetime:
    return datetime.now(UTC)


class ProviderProtocol:
    """One provider's way of speaking. `messages` handed to these methods are the simulator's stored dicts:
    api, message_id, recipient (+63...), provider_recipient (63...), message, sender_name, status, type,
    created_at, updated_at (ISO 8601) and, once failed, error."""

    name: ClassVar[str] = ""
    # (method, path) -> action: "send", "send_bulk", "status", "list" or "credits".
    routes: ClassVar[dict[tuple[str, str], str]] = {}
    key_field: ClassVar[str] = ""
    numbers_field: ClassVar[str] = ""
    # The status of a message just accepted.
    initial_status: ClassVar[str] = ""

    def action_for(self, method: str, path: str) -> str | None:
        return self.routes.get((method, path))

    def max_numbers(self, action: str) -> int:
        return 1000

    # --- refusals (each raises or returns the provider's own answer) ---

    def quirk_error(self, mode: str) -> Reply | None:
        """This provider's answer to a forced error mode named after its quirk; None: a plain HTTP error."""
        return None

    def unauthorized(self) -> Reply:
        raise NotImplementedError

    def missing_message(self) -> Reply:
        raise NotImplementedError

    def sender_name_refusal(self, params: dict[str, Any], settings: ApiSettings) -> Reply | None:
        return None

    def invalid_number(self, raw: str) -> Reply:
        raise NotImplementedError

    def invalid_number_list(self, text: str) -> Reply:
        raise NotImplementedError

    def transient_error(self) -> Reply:
        return Reply(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")

    def quota_refusal(self, *, remaining: int, requested: int) -> Reply:
        raise NotImplementedError

    # --- accepted messages ---

    def new_message_id(self, sequence: int, rng: random.Random) -> str:
        raise NotImplementedError

    def sender_name(self, params: dict[str, Any]) -> str:
        raise NotImplementedError

    def final_status(self, *, failed: bool) -> str:
        raise NotImplementedError

    def send_answer(self, action: str, created: list[dict[str, Any]]) -> Answer:
        raise NotImplementedError

    def receipt(self, message: dict[str, Any]) -> dict[str, Any]:
        """The delivery callback body for a message in its final state."""
        raise NotImplementedError

    def status_message_id(self, path: str, params: dict[str, Any]) -> str:
        raise NotImplementedError

    def status_answer(self, message_id: str, message: dict[str, Any] | None) -> Answer:
        raise NotImplementedError

    def list_answer(self, params: dict[str, Any], messages: list[dict[str, Any]]) -> Answer:
        raise Reply(HTTPStatus.NOT_FOUND, {"error": f"{self.name} has no message list"})

    def credits_answer(self, remaining: int) -> Answer:
        raise NotImplementedError
