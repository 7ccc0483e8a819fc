"""The provider simulator: one threaded HTTP server speaking the IPROG and Semaphore APIs.

Provider endpoints: see `messaging.simulator.iprog` and `messaging.simulator.semaphore` (the same shapes the
adapters' docstrings describe). This module runs what both have in common, asking each API's protocol how to say it.

Control endpoints (JSON):
  POST /_sim/config   {"iprog": {...}, "semaphore": {...}, "all": {...}} -> the settings now in force
  POST /_sim/reset    {"config": true} -> forget messages and counters (and, with "config", settings too)
  GET  /_sim/messages ?api=iprog|semaphore&limit=N -> the most recent accepted messages, oldest first
  GET  /_sim/stats    -> counters per API
  GET  /_sim/health

Per-API settings (`api_settings.ApiSettings`): `quota` (messages accepted per calendar month; then the provider's
own "limit reached" answer), `error_rate` (share of sends answered with the provider's transient error),
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
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from messaging.numbers import is_valid_ph_number
from messaging.simulator.api_settings import ApiSettings
from messaging.simulator.iprog import IprogProtocol
from messaging.simulator.protocol import Answer, ProviderProtocol, Reply, now
from messaging.simulator.semaphore import SemaphoreProtocol
from portal.timezone import operator_tz

logger = logging.getLogger("messaging.simulator")

PROTOCOLS: dict[str, ProviderProtocol] = {
    protocol.name: protocol for protocol in (IprogProtocol(), SemaphoreProtocol())
}
API_NAMES = tuple(PROTOCOLS)
MAX_BODY_BYTES = 1_000_000
# A number as the providers' APIs take it: 63 or 0, then the ten digits of a national mobile number. Which of
# those are mobile is the portal's own table (the 09 range, and the 08 range's mobile blocks such as DITO's 0895):
# the networks behind the real providers deliver to all of them.
_PH_NUMBER = re.compile(r"(?:63|0)([0-9]{10})")


@dataclass
class _ApiState:
    settings: ApiSettings
    period: str = ""
    used: int = 0
    messages: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    counters: Counter[str] = field(default_factory=Counter)


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

    def handle(self, method: str, path: str, params: dict[str, str]) -> Answer:
        try:
            if path.startswith("/_sim/"):
                return self._control(method, path, params)
            api, action = self._route(method, path)
            return self._provider_call(api, action, path, params)
        except Reply as reply:
            return reply.status, reply.body, reply.headers

    def _route(self, method: str, path: str) -> tuple[str, str]:
        for api, protocol in PROTOCOLS.items():
            action = protocol.action_for(method, path)
            if action is not None:
                return api, action
        raise Reply(HTTPStatus.NOT_FOUND, {"error": f"no simulator route for {method} {path}"})

    def _control(self, method: str, path: str, params: dict[str, Any]) -> Answer:
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

    def _provider_call(self, api: str, action: str, path: str, params: dict[str, Any]) -> Answer:
        protocol = PROTOCOLS[api]
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
            message_id = protocol.status_message_id(path, params)
            with self._lock:
                message = self._states[api].messages.get(message_id)
                message = dict(message) if message else None
            return protocol.status_answer(message_id, message)
        if action == "list":
            with self._lock:
                messages = [dict(m) for m in self._states[api].messages.values()]
            return protocol.list_answer(params, messages)
        with self._lock:
            used = self._states[api].used
        return protocol.credits_answer(100_000 if settings.quota is None else max(0, settings.quota - used))

    def _count(self, api: str, counter: str) -> None:
        with self._lock:
            self._states[api].counters[counter] += 1

    def _refuse(self, api: str, reply: Reply) -> Reply:
        self._count(api, "rejected")
        return reply

    def _forced_error(self, api: str, settings: ApiSettings) -> None:
        mode = settings.error_mode
        if not mode:
            return
        self._count(api, f"forced_{mode}")
        if mode == "timeout":
            self._stopping.wait(settings.hang_seconds)
            raise Reply(HTTPStatus.GATEWAY_TIMEOUT, {"error": "simulated hang ended"})
        if mode == "http429":
            raise Reply(HTTPStatus.TOO_MANY_REQUESTS, {"error": "Too Many Requests"}, {"Retry-After": "1"})
        if mode == "http401":
            raise Reply(HTTPStatus.UNAUTHORIZED, {"error": "Unauthorized"})
        quirk = PROTOCOLS[api].quirk_error(mode)
        if quirk is not None:
            raise quirk
        raise Reply(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")

    def _authenticate(self, api: str, settings: ApiSettings, params: dict[str, Any]) -> None:
        protocol = PROTOCOLS[api]
        key = str(params.get(protocol.key_field) or "")
        if key and (not settings.api_key or key == settings.api_key):
            return
        self._count(api, "unauthorized")
        raise protocol.unauthorized()

    def _send(self, api: str, action: str, settings: ApiSettings, params: dict[str, Any]) -> Answer:
        protocol = PROTOCOLS[api]
        raw_numbers = [
            part.strip() for part in str(params.get(protocol.numbers_field) or "").split(",") if part.strip()
        ]
        body = str(params.get("message") or "")
        if not body.strip():
            raise self._refuse(api, protocol.missing_message())
        refusal = protocol.sender_name_refusal(params, settings)
        if refusal is not None:
            raise self._refuse(api, refusal)
        limit = protocol.max_numbers(action)
        normalized = []
        for raw in raw_numbers:
            match = _PH_NUMBER.fullmatch(raw)
            digits = f"63{match.group(1)}" if match and is_valid_ph_number(f"+63{match.group(1)}") else ""
            if not digits or any(digits.startswith(prefix) for prefix in settings.reject_prefixes):
                raise self._refuse(api, protocol.invalid_number(raw))
            normalized.append(digits)
        if not normalized or len(normalized) > limit:
            raise self._refuse(api, protocol.invalid_number_list(f"Between 1 and {limit} phone numbers are required."))
        if settings.error_rate and self._chance(settings.error_rate):
            self._count(api, "random_errors")
            raise protocol.transient_error()
        with self._lock:
            state = self._states[api]
            # Philippine providers count their monthly limits in Manila months: the operator's zone.
            period = now().astimezone(operator_tz()).strftime("%Y-%m")
            if state.period != period:
                state.period, state.used = period, 0
            if settings.quota is not None and state.used + len(normalized) > settings.quota:
                state.counters["quota_refusals"] += 1
                raise protocol.quota_refusal(remaining=max(0, settings.quota - state.used), requested=len(normalized))
            state.used += len(normalized)
            kind = "Bulk" if len(normalized) > 1 else "Single"
            created = [self._store(api, digits, body, params, kind) for digits in normalized]
        return protocol.send_answer(action, created)

    def _store(self, api: str, digits: str, body: str, params: dict[str, Any], kind: str) -> dict[str, Any]:
        """Record an accepted message and schedule its receipt; called with the lock held."""
        protocol = PROTOCOLS[api]
        state = self._states[api]
        sequence = next(self._ids)
        message_id = protocol.new_message_id(sequence, self._random)
        moment = now()
        message = {
            "api": api,
            "message_id": message_id,
            "recipient": f"+{digits}",
            "provider_recipient": digits,
            "message": body,
            "sender_name": protocol.sender_name(params),
            # What the caller asked for, as received: shows whether a sender name reached the provider at all.
            "sender_name_received": str(params.get("sendername") or params.get("sender_name") or ""),
            "status": protocol.initial_status,
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

    def _chance(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    # --- delivery receipts ---

    def _finish(self, api: str, message: dict[str, Any]) -> None:
        """Move an accepted message to its final state; called with the lock held."""
        failed = self._random.random() < self._states[api].settings.delivery_failure_rate
        message["status"] = PROTOCOLS[api].final_status(failed=failed)
        if failed:
            message["error"] = "Simulated delivery failure"
        message["updated_at"] = now().isoformat()
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
                payload = PROTOCOLS[api].receipt(message)
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
    # Keep-alive, like the providers: a client's session reuses its connection (and this server its thread)
    # instead of a TCP handshake and a new thread per call. Every answer carries its Content-Length, and goes out
    # in one write (buffered, flushed by http.server after each request) with Nagle's algorithm off: a header
    # write followed by a body write would otherwise wait for the client's delayed ACK (40 ms a call).
    protocol_version = "HTTP/1.1"
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

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
            self.close_connection = True  # the body may be left unread: this connection cannot carry another call
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
