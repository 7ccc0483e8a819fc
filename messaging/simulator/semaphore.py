"""Semaphore as the simulator speaks it (the shapes `messaging.providers.semaphore` reads): form fields, message
objects in lists, validation errors as {field: [texts]} with HTTP 200, and the paged message list.

  POST /api/v4/messages, GET /api/v4/messages (list: limit, page, startDate, endDate),
  GET /api/v4/messages/<id>, GET /api/v4/account
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime
from http import HTTPStatus
from typing import Any

from messaging.simulator.api_settings import ApiSettings
from messaging.simulator.protocol import Answer, ProviderProtocol, Reply

_MESSAGE_PATH = re.compile(r"/api/v4/messages/[^/]+")


def _semaphore_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class SemaphoreProtocol(ProviderProtocol):
    name = "semaphore"
    routes = {
        ("POST", "/api/v4/messages"): "send",
        ("GET", "/api/v4/messages"): "list",
        ("GET", "/api/v4/account"): "credits",
    }
    key_field = "apikey"
    numbers_field = "number"
    initial_status = "Pending"

    def action_for(self, method: str, path: str) -> str | None:
        if method == "GET" and _MESSAGE_PATH.fullmatch(path):
            return "status"
        return super().action_for(method, path)

    def unauthorized(self) -> Reply:
        return Reply(HTTPStatus.UNAUTHORIZED, {"apikey": ["The selected apikey is invalid."]})

    def missing_message(self) -> Reply:
        return Reply(200, {"message": ["The message field is required."]})

    def sender_name_refusal(self, params: dict[str, Any], settings: ApiSettings) -> Reply | None:
        sender_name = str(params.get("sendername") or "")
        approved = settings.approved_sender_names
        if sender_name and approved and sender_name not in approved:
            return Reply(200, {"sendername": ["The selected sendername is invalid."]})
        return None

    def invalid_number(self, raw: str) -> Reply:
        return Reply(200, {"number": [f"The number format is invalid: {raw}."]})

    def invalid_number_list(self, text: str) -> Reply:
        return Reply(200, {"number": [text]})

    def quota_refusal(self, *, remaining: int, requested: int) -> Reply:
        return Reply(
            200,
            {
                "error": f"Your current balance of {remaining} credits is not sufficient. "
                f"This transaction requires {requested} credits."
            },
        )

    def new_message_id(self, sequence: int, rng: random.Random) -> str:
        return str(200_000_000 + sequence)

    def sender_name(self, params: dict[str, Any]) -> str:
        return str(params.get("sendername") or "SEMAPHORE")

    def final_status(self, *, failed: bool) -> str:
        return "Failed" if failed else "Sent"

    def send_answer(self, action: str, created: list[dict[str, Any]]) -> Answer:
        return 200, [self.receipt(message) for message in created], {}

    def receipt(self, message: dict[str, Any]) -> dict[str, Any]:
        """Semaphore's message object (its send answers, status, list and callbacks all use it)."""
        created = datetime.fromisoformat(message["created_at"])
        updated = datetime.fromisoformat(message["updated_at"])
        return {
            "message_id": int(message["message_id"]),
            "user_id": 1,
            "user": "simulator@sms-portal.example",
            "account_id": 1,
            "account": "Provider Simulator",
            "recipient": message["provider_recipient"],
            "message": message["message"],
            "sender_name": message["sender_name"],
            "network": "Simulated",
            "status": message["status"],
            "type": message["type"],
            "source": "Api",
            "created_at": _semaphore_time(created),
            "updated_at": _semaphore_time(updated),
        }

    def status_message_id(self, path: str, params: dict[str, Any]) -> str:
        return path.rsplit("/", 1)[-1]

    def status_answer(self, message_id: str, message: dict[str, Any] | None) -> Answer:
        if message is None:
            return 404, {"message_id": [f"Message {message_id} not found."]}, {}
        return 200, [self.receipt(message)], {}

    def list_answer(self, params: dict[str, Any], messages: list[dict[str, Any]]) -> Answer:
        """Newest first, `limit` (up to 1000) per `page`, by created date."""
        try:
            limit = min(1000, max(1, int(params.get("limit") or 100)))
            page = max(1, int(params.get("page") or 1))
            start = date.fromisoformat(params["startDate"]) if params.get("startDate") else None
            end = date.fromisoformat(params["endDate"]) if params.get("endDate") else None
        except ValueError as error:
            return 422, {"limit": [f"Invalid list parameters: {error}"]}, {}
        chosen = []
        for message in messages:
            created = datetime.fromisoformat(message["created_at"]).date()
            if (start is None or created >= start) and (end is None or created <= end):
                chosen.append(message)
        chosen.sort(key=lambda m: int(m["message_id"]), reverse=True)
        window = chosen[(page - 1) * limit : page * limit]
        return 200, [self.receipt(message) for message in window], {}

    def credits_answer(self, remaining: int) -> Answer:
        return (
            200,
            {"account_id": 1, "account_name": "Provider Simulator", "status": "Active", "credit_balance": remaining},
            {},
        )
