"""The provider simulator: one threaded HTTP server speaking the IPROG and Semaphore APIs.

Provider endpoints (same shapes as the adapters' docstrings describe):
  POST /api/v1/sms_messages, POST /api/v1/sms_messages/send_bulk, GET /api/v1/sms_messages/status,
  GET /api/v1/account/sms_credits                                   (IPROG)
  POST /api/v4/messages, GET /api/v4/messages (list: limit, page, startDate, endDate),
  GET /api/v4/messages/<id>, GET /api/v4/account                      (Semaphore)

Control endpoints (JSON):
  POST /_sim/config   {"iprog": {...}, "semaphore": {...}, "all": {...}} -> the settings now in force
  POST /_sim/reset    {"config": true} -> forget messages and counters (and, with "config", settings too)
  GET  /_sim/messages ?api=iprog|semaphore&limit=N -> the most recent accepted messages, oldest first
  GET  /_sim/stats    -> counters per API
  GET  /_sim/health

Per-API settings (`ApiSettings`): `quota` (messages accepted per calendar month; then the provider's own
"limit reached" answer), `error_rate` (share of sends answered with the provider's transient error),
`error_mode` (forced: "http500", "timeout" (hang), "iprog_status_500", "http429", "http401"), `latency_ms`,
`callback_url` + `callback_delay_ms` (delivery receipt POSTed from a background thread),
`delivery_failure_rate`, `api_key` (empty: any non-empty key works), `reject_prefixes` (numbers, as
639XXXXXXXXX, that the provider refuses as invalid), `approved_sender_names` (Semaphore; empty: any).

Memory is bounded: at most `max_messages` messages are kept (oldest dropped) and at most
`max_pending_callbacks` receipts wait for delivery (beyond that the status still changes, the callback is
skipped and counted).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, OrderedDict, deque
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

logger = logging.getLogger("messaging.simulator")

API_NAMES = ("iprog", "semaphore")
ERROR_MODES = ("", "http500", "timeout", "iprog_status_500", "http429", "http401")
IPROG_LIMIT_MESSAGE = "IPROGSMS has reached its monthly limit. Please try again next month."
MAX_BODY_BYTES = 1_000_000
# Philippine providers count their monthly limits in Manila months.
MANILA = ZoneInfo("Asia/Manila")
_PH_NUMBER = re.compile(r"(?:63|0)(9[0-9]{9})")


@dataclass
class ApiSettings:
    quota: int | None = None
    error_rate: float = 0.0
    error_mode: str = ""
    latency_ms: int = 0
    hang_seconds: float = 30.0
    callback_url: str = ""
    callback_delay_ms: int = 200
    delivery_failure_rate: float = 0.0
    api_key: str = ""
    reject_prefixes: list[str] = field(default_factory=lambda: ["63900"])
    approved_sender_names: list[str] = field(default_factory=list)

    def updated(self, values: dict[str, Any]) -> ApiSettings:
        """A copy with `values` applied; unknown names or bad values raise ValueError naming them."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown simulator setting(s): {', '.join(unknown)}")
        new = replace(self, **values)
        if new.quota is not None:
            new.quota = int(new.quota)
            if new.quota < 0:
                raise ValueError("quota must be >= 0 or null")
        new.error_rate = float(new.error_rate)
        new.delivery_failure_rate = float(new.delivery_failure_rate)
        for name in ("error_rate", "delivery_failure_rate"):
            if not 0.0 <= getattr(new, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        new.latency_ms = max(0, int(new.latency_ms))
        new.callback_delay_ms = max(0, int(new.callback_delay_ms))
        new.hang_seconds = max(0.0, float(new.hang_seconds))
        new.error_mode = str(new.error_mode or "")
        if new.error_mode not in ERROR_MODES:
            raise ValueError(f"error_mode must be one of {', '.join(repr(m) for m in ERROR_MODES)}")
        new.callback_url = str(new.callback_url or "")
        if new.callback_url and not new.callback_url.startswith(("http://", "https://")):
            raise ValueError("callback_url must start with http:// or https://")
        new.api_key = str(new.api_key or "")
        new.reject_prefixes = [str(prefix) for prefix in (new.reject_prefixes or [])]
        new.approved_sender_names = [str(name) for name in (new.approved_sender_names or [])]
        return new


@dataclass
class _ApiState:
    settings: ApiSettings
    period: str = ""
    used: int = 0
    messages: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    counters: Counter[str] = field(default_factory=Counter)


class _Reply(Exception):
    """Raised inside a handler to answer at once with (status, body, headers)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _now() -> datetime:
    return datetime.now(UTC)


def _semaphore_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class ProviderSimulator:
    """Start with `start()` (returns self), stop with `stop()`; `base_url` serves both APIs."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        iprog: dict[str, Any] | None = None,
        semaphore: dict[str, Any] | None = None,
        max_messages: int = 10_000,
        max_pending_callbacks: int = 10_000,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.max_messages = max_messages
        self.max_pending_callbacks = max_pending_callbacks
        self._defaults = {
            "iprog": ApiSettings().updated(iprog or {}),
            "semaphore": ApiSettings().updated(semaphore or {}),
        }
        self._lock = threading.RLock()
        self._random = random.Random(seed)  # noqa: S311 - simulated failures, not security
        self._ids = itertools.count(1)
        self._states = {api: _ApiState(settings=self._defaults[api]) for api in API_NAMES}
        self._accepted: deque[tuple[str, str]] = deque(maxlen=max_messages)
        self._callbacks: list[tuple[float, int, str, str]] = []
        self._callback_ready = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # --- lifecycle ---

    def start(self) -> ProviderSimulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        server_class = _IPv6Server if ":" in self.host else ThreadingHTTPServer
        server = server_class((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.simulator = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        serve = threading.Thread(target=server.serve_forever, name="provider-simulator", daemon=True)
        dispatch = threading.Thread(target=self._dispatch_callbacks, name="provider-simulator-dlr", daemon=True)
        self._threads = [serve, dispatch]
        for thread in self._threads:
            thread.start()
        logger.info("Provider simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        with self._callback_ready:
            self._callback_ready.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None
        self._threads = []

    def serve_forever(self) -> None:
        """Block until interrupted (used by the management command)."""
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self) -> ProviderSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- control ---

    def configure(self, api: str | None = None, **values: Any) -> dict[str, dict[str, Any]]:
        """Change settings of one API (or both when `api` is None); returns the settings in force."""
        targets = API_NAMES if api in (None, "all") else (api,)
        for target in targets:
            if target not in API_NAMES:
                raise ValueError(f"unknown API {target!r}; use one of {', '.join(API_NAMES)}")
        with self._lock:
            updated = {target: self._states[target].settings.updated(values) for target in targets}
            for target, new_settings in updated.items():
                self._states[target].settings = new_settings
            return self.settings()

    def settings(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {api: asdict(state.settings) for api, state in self._states.items()}

    def reset(self, *, config: bool = True) -> None:
        """Forget messages, counters, quota usage and pending receipts (and settings, unless config=False)."""
        with self._lock:
            for api, state in self._states.items():
                settings = self._defaults[api] if config else state.settings
                self._states[api] = _ApiState(settings=settings)
            self._accepted.clear()
            self._callbacks.clear()

    def messages(self, api: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Accepted messages (copies), oldest first, across both APIs unless `api` is given."""
        with self._lock:
            result = []
            for message_api, message_id in self._accepted:
                if api and message_api != api:
                    continue
                message = self._states[message_api].messages.get(message_id)
                if message is not None:
                    result.append(dict(message))
            return result[-limit:] if limit else result

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.messages()

    def stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                api: {
                    **dict(state.counters),
                    "used_this_month": state.used,
                    "stored_messages": len(state.messages),
                    "pending_callbacks": sum(1 for entry in self._callbacks if entry[2] == api),
                }
                for api, state in self._states.items()
            }

    # --- request handling (called from handler threads) ---

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        try:
            if path.startswith("/_sim/"):
                return self._control(method, path, params)
            api, action = self._route(method, path)
            return self._provider_call(api, action, path, params)
        except _Reply as reply:
            return reply.status, reply.body, reply.headers

    def _route(self, method: str, path: str) -> tuple[str, str]:
        routes = {
            ("POST", "/api/v1/sms_messages"): ("iprog", "send"),
            ("POST", "/api/v1/sms_messages/send_bulk"): ("iprog", "send_bulk"),
            ("GET", "/api/v1/sms_messages/status"): ("iprog", "status"),
            ("GET", "/api/v1/account/sms_credits"): ("iprog", "credits"),
            ("POST", "/api/v4/messages"): ("semaphore", "send"),
            ("GET", "/api/v4/messages"): ("semaphore", "list"),
            ("GET", "/api/v4/account"): ("semaphore", "credits"),
        }
        if (method, path) in routes:
            return routes[(method, path)]
        if method == "GET" and re.fullmatch(r"/api/v4/messages/[^/]+", path):
            return "semaphore", "status"
        raise _Reply(HTTPStatus.NOT_FOUND, {"error": f"no simulator route for {method} {path}"})

    def _control(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if method == "GET" and path == "/_sim/health":
            return 200, {"ok": True, "apis": list(API_NAMES)}, {}
        if method == "GET" and path == "/_sim/stats":
            return 200, self.stats(), {}
        if method == "GET" and path == "/_sim/messages":
            api = params.get("api") or None
            if api and api not in API_NAMES:
                return 400, {"error": f"unknown api {api!r}"}, {}
            try:
                limit = int(params.get("limit") or 100)
            except ValueError:
                return 400, {"error": "limit must be an integer"}, {}
            return 200, {"messages": self.messages(api, limit=max(1, min(limit, self.max_messages)))}, {}
        if method == "POST" and path == "/_sim/config":
            try:
                for api in ("all", *API_NAMES):
                    values = params.get(api)
                    if values is None:
                        continue
                    if not isinstance(values, dict):
                        raise ValueError(f"{api!r} must be an object of settings")
                    self.configure(api, **values)
                unknown = sorted(set(params) - {"all", *API_NAMES})
                if unknown:
                    raise ValueError(f"unknown section(s): {', '.join(unknown)}; use all, iprog, semaphore")
            except (TypeError, ValueError) as error:
                return 400, {"error": str(error)}, {}
            return 200, self.settings(), {}
        if method == "POST" and path == "/_sim/reset":
            self.reset(config=bool(params.get("config", True)))
            return 200, {"ok": True, "settings": self.settings()}, {}
        return 404, {"error": f"no simulator control route for {method} {path}"}, {}

    def _provider_call(
        self, api: str, action: str, path: str, params: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            settings = self._states[api].settings
            self._states[api].counters["requests"] += 1
        if settings.latency_ms:
            self._stopping.wait(settings.latency_ms / 1000)
        self._forced_error(api, settings)
        self._authenticate(api, settings, params)
        if action in ("send", "send_bulk"):
            return self._send(api, action, settings, params)
        if action == "status":
            return self._status(api, path, params)
        if action == "list":
            return self._list(api, params)
        return self._credits(api, settings)

    def _list(self, api: str, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Semaphore's message list: newest first, `limit` (up to 1000) per `page`, by created date."""
        try:
            limit = min(1000, max(1, int(params.get("limit") or 100)))
            page = max(1, int(params.get("page") or 1))
            start = date.fromisoformat(params["startDate"]) if params.get("startDate") else None
            end = date.fromisoformat(params["endDate"]) if params.get("endDate") else None
        except ValueError as error:
            return 422, {"limit": [f"Invalid list parameters: {error}"]}, {}
        with self._lock:
            messages = [dict(m) for m in self._states[api].messages.values()]
        chosen = []
        for message in messages:
            created = datetime.fromisoformat(message["created_at"]).date()
            if (start is None or created >= start) and (end is None or created <= end):
                chosen.append(message)
        chosen.sort(key=lambda m: int(m["message_id"]), reverse=True)
        window = chosen[(page - 1) * limit : page * limit]
        return 200, [self._semaphore_view(message) for message in window], {}

    def _count(self, api: str, counter: str) -> None:
        with self._lock:
            self._states[api].counters[counter] += 1

    def _forced_error(self, api: str, settings: ApiSettings) -> None:
        mode = settings.error_mode
        if not mode:
            return
        self._count(api, f"forced_{mode}")
        if mode == "timeout":
            self._stopping.wait(settings.hang_seconds)
            raise _Reply(HTTPStatus.GATEWAY_TIMEOUT, {"error": "simulated hang ended"})
        if mode == "http429":
            raise _Reply(HTTPStatus.TOO_MANY_REQUESTS, {"error": "Too Many Requests"}, {"Retry-After": "1"})
        if mode == "http401":
            raise _Reply(HTTPStatus.UNAUTHORIZED, {"error": "Unauthorized"})
        if mode == "iprog_status_500" and api == "iprog":
            raise _Reply(200, {"status": 500, "message": "Something went wrong. Please try again later."})
        raise _Reply(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")

    def _authenticate(self, api: str, settings: ApiSettings, params: dict[str, Any]) -> None:
        key = str(params.get("api_token" if api == "iprog" else "apikey") or "")
        if key and (not settings.api_key or key == settings.api_key):
            return
        self._count(api, "unauthorized")
        if api == "iprog":
            raise _Reply(HTTPStatus.UNAUTHORIZED, {"status": 401, "message": "Invalid API token."})
        raise _Reply(HTTPStatus.UNAUTHORIZED, {"apikey": ["The selected apikey is invalid."]})

    def _send(
        self, api: str, action: str, settings: ApiSettings, params: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        numbers_field = "phone_number" if api == "iprog" else "number"
        raw_numbers = [part.strip() for part in str(params.get(numbers_field) or "").split(",") if part.strip()]
        body = str(params.get("message") or "")
        if not body.strip():
            self._count(api, "rejected")
            if api == "iprog":
                raise _Reply(200, {"status": 500, "message": "Message is required."})
            raise _Reply(200, {"message": ["The message field is required."]})
        sender_name = str(params.get("sendername") or "")
        approved = settings.approved_sender_names
        if api == "semaphore" and sender_name and approved and sender_name not in approved:
            self._count(api, "rejected")
            raise _Reply(200, {"sendername": ["The selected sendername is invalid."]})
        limit = 1 if (api == "iprog" and action == "send") else 1000
        normalized = []
        for raw in raw_numbers:
            match = _PH_NUMBER.fullmatch(raw)
            digits = f"63{match.group(1)}" if match else ""
            if not digits or any(digits.startswith(prefix) for prefix in settings.reject_prefixes):
                self._count(api, "rejected")
                if api == "iprog":
                    raise _Reply(200, {"status": 500, "message": f"Invalid phone number: {raw}"})
                raise _Reply(200, {"number": [f"The number format is invalid: {raw}."]})
            normalized.append(digits)
        if not normalized or len(normalized) > limit:
            self._count(api, "rejected")
            text = f"Between 1 and {limit} phone numbers are required."
            if api == "iprog":
                raise _Reply(200, {"status": 500, "message": f"Invalid phone number list. {text}"})
            raise _Reply(200, {"number": [text]})
        if settings.error_rate and self._chance(settings.error_rate):
            self._count(api, "random_errors")
            if api == "iprog":
                raise _Reply(200, {"status": 500, "message": "Something went wrong. Please try again later."})
            raise _Reply(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        with self._lock:
            state = self._states[api]
            period = _now().astimezone(MANILA).strftime("%Y-%m")
            if state.period != period:
                state.period, state.used = period, 0
            if settings.quota is not None and state.used + len(normalized) > settings.quota:
                state.counters["quota_refusals"] += 1
                remaining = max(0, settings.quota - state.used)
                if api == "iprog":
                    raise _Reply(200, {"status": 500, "message": IPROG_LIMIT_MESSAGE})
                raise _Reply(
                    200,
                    {
                        "error": f"Your current balance of {remaining} credits is not sufficient. "
                        f"This transaction requires {len(normalized)} credits."
                    },
                )
            state.used += len(normalized)
            kind = "Bulk" if len(normalized) > 1 else "Single"
            created = [self._store(api, digits, body, params, kind) for digits in normalized]
        if api == "iprog":
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
        return 200, [self._semaphore_view(message) for message in created], {}

    def _store(self, api: str, digits: str, body: str, params: dict[str, Any], kind: str) -> dict[str, Any]:
        """Record an accepted message and schedule its receipt; called with the lock held."""
        state = self._states[api]
        sequence = next(self._ids)
        if api == "iprog":
            message_id = f"iSms-{sequence:06d}{self._random.randrange(36**2):02x}"
            status = "pending"
            sender = "IPROGSMS"
        else:
            message_id = str(200_000_000 + sequence)
            status = "Pending"
            sender = str(params.get("sendername") or "SEMAPHORE")
        moment = _now()
        message = {
            "api": api,
            "message_id": message_id,
            "recipient": f"+{digits}",
            "provider_recipient": digits,
            "message": body,
            "sender_name": sender,
            "status": status,
            "type": kind,
            "created_at": moment.isoformat(),
            "updated_at": moment.isoformat(),
        }
        state.messages[message_id] = message
        while len(state.messages) > self.max_messages:
            state.messages.popitem(last=False)
        self._accepted.append((api, message_id))
        state.counters["accepted"] += 1
        if len(self._callbacks) < self.max_pending_callbacks:
            due = time.monotonic() + state.settings.callback_delay_ms / 1000
            heapq.heappush(self._callbacks, (due, sequence, api, message_id))
            self._callback_ready.notify()
        else:
            state.counters["callbacks_dropped"] += 1
            self._finish(api, message)
        return message

    def _semaphore_view(self, message: dict[str, Any]) -> dict[str, Any]:
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

    def _iprog_view(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": message["message_id"],
            "phone_number": message["provider_recipient"],
            "status": message["status"],
            "error": message.get("error", ""),
            "timestamp": message["updated_at"],
        }

    def _status(self, api: str, path: str, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        message_id = str(params.get("message_id") or "") if api == "iprog" else path.rsplit("/", 1)[-1]
        with self._lock:
            message = self._states[api].messages.get(message_id)
            message = dict(message) if message else None
        if api == "iprog":
            if message is None:
                return 200, {"status": 404, "message": f"Message {message_id} not found."}, {}
            view = self._iprog_view(message)
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
        if message is None:
            return 404, {"message_id": [f"Message {message_id} not found."]}, {}
        return 200, [self._semaphore_view(message)], {}

    def _credits(self, api: str, settings: ApiSettings) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            used = self._states[api].used
        remaining = 100_000 if settings.quota is None else max(0, settings.quota - used)
        if api == "iprog":
            return (
                200,
                {"status": 200, "message": "SMS credits retrieved.", "data": {"load_balance": remaining}},
                {},
            )
        return (
            200,
            {
                "account_id": 1,
                "account_name": "Provider Simulator",
                "status": "Active",
                "credit_balance": remaining,
            },
            {},
        )

    def _chance(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    # --- delivery receipts ---

    def _finish(self, api: str, message: dict[str, Any]) -> None:
        """Move an accepted message to its final state; called with the lock held."""
        failed = self._random.random() < self._states[api].settings.delivery_failure_rate
        if api == "iprog":
            message["status"] = "failed" if failed else "delivered"
        else:
            message["status"] = "Failed" if failed else "Sent"
        if failed:
            message["error"] = "Simulated delivery failure"
        message["updated_at"] = _now().isoformat()
        self._states[api].counters["failed_deliveries" if failed else "deliveries"] += 1

    def _dispatch_callbacks(self) -> None:
        while not self._stopping.is_set():
            with self._callback_ready:
                while not self._stopping.is_set() and (not self._callbacks or self._callbacks[0][0] > time.monotonic()):
                    timeout = self._callbacks[0][0] - time.monotonic() if self._callbacks else None
                    self._callback_ready.wait(timeout=timeout)
                if self._stopping.is_set():
                    return
                _, _, api, message_id = heapq.heappop(self._callbacks)
                message = self._states[api].messages.get(message_id)
                if message is None:
                    continue
                self._finish(api, message)
                url = self._states[api].settings.callback_url
                payload = self._iprog_view(message) if api == "iprog" else self._semaphore_view(message)
            if url:
                self._post_callback(api, url, payload)

    def _post_callback(self, api: str, url: str, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL is configured by the operator of the simulator
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": f"provider-simulator/{api}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                response.read(1024)
            self._count(api, "callbacks_sent")
        except (urllib.error.URLError, OSError, ValueError) as error:
            self._count(api, "callbacks_failed")
            logger.warning("Simulator %s callback to %s failed: %s", api, url, error)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server_version = "ProviderSimulator/1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        simulator: ProviderSimulator = self.server.simulator  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        try:
            params = self._params(url.query, method)
        except ValueError as error:
            self._respond(400, {"error": str(error)}, {})
            return
        try:
            status, body, headers = simulator.handle(method, url.path, params)
        except Exception:  # a bug in the simulator must answer 500, not kill the connection silently
            logger.exception("Provider simulator failed on %s %s", method, url.path)
            status, body, headers = 500, {"error": "simulator error"}, {}
        self._respond(status, body, headers)

    def _params(self, query: str, method: str) -> dict[str, Any]:
        params: dict[str, Any] = {key: values[-1] for key, values in parse_qs(query).items()}
        if method != "POST":
            return params
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return params
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/json":
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as error:
                raise ValueError(f"body is not valid JSON: {error}")
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            params.update(data)
        else:
            params.update({key: values[-1] for key, values in parse_qs(raw.decode("utf-8", "replace")).items()})
        return params

    def _respond(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, str):
            payload, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(body).encode(), "application/json"
        try:
            self.send_response(int(status))
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its read timeout during a simulated hang)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        logger.debug("simulator %s - %s", self.address_string(), format % args)
