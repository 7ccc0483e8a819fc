"""IPROG as the simulator speaks it (the shapes `messaging.providers.iprog` reads), quirks included: most errors
come with HTTP 200 and `"status": 500` in the body, and the single send takes one number.

  POST /api/v1/sms_messages, POST /api/v1/sms_messages/send_bulk, GET /api/v1/sms_messages/status,
  GET /api/v1/account/sms_credits
"""

from __future__ import annotations

import random
from http import HTTPStatus
from typing import Any

from messaging.simulator.protocol import Answer, ProviderProtocol, Reply

IPROG_LIMIT_MESSAGE = "IPROGSMS has reached its monthly limit. Please try again next month."


def _failed(message: str) -> Reply:
    """IPROG's way of failing: HTTP 200, the failure in the body."""
    return Reply(200, {"status": 500, "message": message})


class IprogProtocol(ProviderProtocol):
    name = "iprog"
    routes = {
        ("POST", "/api/v1/sms_messages"): "send",
        ("POST", "/api/v1/sms_messages/send_bulk"): "send_bulk",
        ("GET", "/api/v1/sms_messages/status"): "status",
        ("GET", "/api/v1/account/sms_credits"): "credits",
    }
    key_field = "api_token"
    numbers_field = "phone_number"
    initial_status = "pending"

    def max_numbers(self, action: str) -> int:
        return 1 if action == "send" else 1000

    def quirk_error(self, mode: str) -> Reply | None:
        if mode == "iprog_status_500":
            return _failed("Something went wrong. Please try again later.")
        return None

    def unauthorized(self) -> Reply:
        return Reply(HTTPStatus.UNAUTHORIZED, {"status": 401, "message": "Invalid API token."})

    def missing_message(self) -> Reply:
        return _failed("Message is required.")

    def invalid_number(self, raw: str) -> Reply:
        return _failed(f"Invalid phone number: {raw}")

    def invalid_number_list(self, text: str) -> Reply:
        return _failed(f"Invalid phone number list. {text}")

    def transient_error(self) -> Reply:
        return _failed("Something went wrong. Please try again later.")

    def quota_refusal(self, *, remaining: int, requested: int) -> Reply:
        return _failed(IPROG_LIMIT_MESSAGE)

    def new_message_id(self, sequence: int, rng: random.Random) -> str:
        return f"iSms-{sequence:06d}{rng.randrange(36**2):02x}"

    def sender_name(self, params: dict[str, Any]) -> str:
        return "IPROGSMS"

    def final_status(self, *, failed: bool) -> str:
        return "failed" if failed else "delivered"

    def send_answer(self, action: str, created: list[dict[str, Any]]) -> Answer:
        if action == "send":
            return (
                200,
                {
                    "status": 200,
                    "message": "Your SMS message has been successfully added to the queue and will be "
                    "processed shortly.",
                    "message_id": created[0]["message_id"],
                },
                {},
            )
        return (
            200,
            {
                "status": 200,
                "message": "Your bulk SMS messages have been successfully added to the queue and will be "
                "processed shortly.",
                "message_ids": ",".join(message["message_id"] for message in created),
            },
            {},
        )

    def receipt(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": message["message_id"],
            "phone_number": message["provider_recipient"],
            "status": message["status"],
            "error": message.get("error", ""),
            "timestamp": message["updated_at"],
        }

    def status_message_id(self, path: str, params: dict[str, Any]) -> str:
        return str(params.get("message_id") or "")

    def status_answer(self, message_id: str, message: dict[str, Any] | None) -> Answer:
        if message is None:
            return 200, {"status": 404, "message": f"Message {message_id} not found."}, {}
        view = self.receipt(message)
        return (
            200,
            {
                "status": 200,
                "message_id": message_id,
                "message_status": view["status"],
                "phone_number": view["phone_number"],
                "error": view["error"],
                "timestamp": view["timestamp"],
            },
            {},
        )

    def credits_answer(self, remaining: int) -> Answer:
        return 200, {"status": 200, "message": "SMS credits retrieved.", "data": {"load_balance": remaining}}, {}
