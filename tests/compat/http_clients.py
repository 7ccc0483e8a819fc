"""Clients written the way IPROG's and Semaphore's documentation (and the libraries built on it) call those APIs:
plain `requests` against a live server, redirects off, no Authorization header; the key travels as a parameter."""

from __future__ import annotations

import re

import requests

IPROG_MESSAGE_ID = re.compile(r"^iSms-[0-9A-Za-z]{6,}$")
SEMAPHORE_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
SEMAPHORE_TIMESTAMP_12H = re.compile(r"^\d{4}-\d\d-\d\d \d{1,2}:\d\d (am|pm)$")

# Semaphore's message object: every field and its JSON type.
SEMAPHORE_MESSAGE = {
    "message_id": int,
    "user_id": int,
    "user": str,
    "account_id": int,
    "account": str,
    "recipient": str,
    "message": str,
    "sender_name": str,
    "network": str,
    "status": str,
    "type": str,
    "source": str,
    "created_at": str,
    "updated_at": str,
}


def assert_types(body: dict, fields: dict[str, type | tuple[type, ...]]) -> None:
    """Exactly these fields, each of its JSON type (`bool` is not accepted for an int)."""
    assert set(body) == set(fields), sorted(body)
    for name, kind in fields.items():
        assert isinstance(body[name], kind), (name, body[name])
        if kind is int:
            assert not isinstance(body[name], bool), name


def assert_semaphore_message(item: dict, *, extra: dict | None = None) -> None:
    assert_types(item, {**SEMAPHORE_MESSAGE, **(extra or {})})
    assert re.fullmatch(r"639\d{9}", item["recipient"])
    assert SEMAPHORE_TIMESTAMP.match(item["created_at"]) and SEMAPHORE_TIMESTAMP.match(item["updated_at"])
    assert item["status"] in {"Pending", "Sent", "Failed", "Refunded"}
    assert item["type"] in {"Single", "Bulk", "Priority"}
    assert item["source"] == "Api"


class ProviderClient:
    """A `requests` session pointed at the live server; every call has redirects off, like the clients in the wild."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        response = self.session.request(method, f"{self.base_url}{path}", **kwargs)
        assert "Location" not in response.headers, response.headers
        assert response.status_code < 300 or response.status_code >= 400, response.status_code
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def multipart(params: dict) -> dict:
    """`files=` for requests: every parameter as a multipart form field without a file name."""
    return {name: (None, str(value)) for name, value in params.items()}
