"""The PayMongo simulator: a threaded HTTP server on a loopback address that speaks the part of PayMongo's API the
portal uses, serves a hosted checkout page, and posts signed webhooks back to the portal.

PayMongo endpoints (Basic auth with the secret key as the user name):
  POST /v1/checkout_sessions        {"data": {"attributes": {line_items, payment_method_types, success_url, ...}}}
  GET  /v1/checkout_sessions/{id}

The hosted checkout page (what `checkout_url` points to):
  GET  /checkout/{id}               the customer picks GCash, Maya, card or QR Ph (those the session allows)
  POST /checkout/{id}               action=pay (method=...) -> `checkout_session.payment.paid` webhook, then a 303 to
                                    success_url; action=decline -> `payment.failed` webhook, the page again;
                                    action=cancel -> a 303 to cancel_url

Control endpoints (JSON):
  POST /_sim/config                 {"webhook_url", "webhook_secret", "secret_key", "webhook_mode", "webhook_delay_ms"}
  POST /_sim/reset                  forget sessions and deliveries
  POST /_sim/sessions/{id}/expire   the session can no longer be paid (PayMongo expires unpaid sessions)
  POST /_sim/sessions/{id}/resend   deliver the session's last event again (a provider retry)
  GET  /_sim/sessions, /_sim/deliveries, /_sim/health

`webhook_mode` says when the paid event reaches the portal: "before_return" (default: delivered before the customer
is redirected, as PayMongo usually does), "after_return" (late: `webhook_delay_ms` after the redirect), "twice"
(before the redirect and again after the delay: a retried delivery with the same event id), "none" (never: the
portal must find out by asking for the session). Webhooks are signed like PayMongo's (test mode: the `te` part).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from billing.payment_providers.paymongo.signature import HEADER, signature_header

logger = logging.getLogger("billing.payment_simulator")

METHODS = {"gcash": "GCash", "paymaya": "Maya", "card": "Card", "qrph": "QR Ph"}
WEBHOOK_MODES = ("before_return", "after_return", "twice", "none")
MAX_BODY_BYTES = 200_000
MAX_SESSIONS = 10_000


@dataclass
class SimulatorConfig:
    webhook_url: str = ""
    webhook_secret: str = "whsk_simulator"
    secret_key: str = ""  # empty: any key starting with sk_test_ is accepted
    webhook_mode: str = "before_return"
    webhook_delay_ms: int = 500

    def updated(self, values: dict[str, Any]) -> SimulatorConfig:
        unknown = set(values) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        merged = SimulatorConfig(**{**self.__dict__, **values})
        if merged.webhook_mode not in WEBHOOK_MODES:
            raise ValueError(f"webhook_mode must be one of {', '.join(WEBHOOK_MODES)}")
        return merged


def _now() -> int:
    return int(time.time())


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'A').replace('_', 'B')}"


class PayMongoSimulator:
    """Start with `start()` (returns self), stop with `stop()`; `base_url` is PayMongo's API and the checkout page."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.host = host
        self.port = port
        self._defaults = SimulatorConfig().updated(config)
        self.config = self._defaults
        self._lock = threading.RLock()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._last_event: dict[str, bytes] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.events: list[bytes] = []  # every event body made, oldest first (the last 1,000), for tests to replay
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []

    # --- lifecycle ---

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> PayMongoSimulator:
        if self._server is None:
            server = ThreadingHTTPServer((self.host, self.port), _Handler)
            server.daemon_threads = True
            server.simulator = self  # type: ignore[attr-defined]
            self._server = server
            self.port = server.server_address[1]
            self._thread = threading.Thread(target=server.serve_forever, name="paymongo-simulator", daemon=True)
            self._thread.start()
            logger.info("PayMongo simulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (used by the management command)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> PayMongoSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def configure(self, **values: Any) -> SimulatorConfig:
        with self._lock:
            self.config = self.config.updated(values)
            return self.config

    def reset(self) -> None:
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self._sessions.clear()
            self._last_event.clear()
            self.deliveries.clear()
            self.events.clear()
            self.config = self._defaults

    # --- sessions ---

    def authorized(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            user, _, _ = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        expected = self.config.secret_key
        return user == expected if expected else user.startswith("sk_test_")

    def session_create(self, attributes: dict[str, Any]) -> dict[str, Any]:
        items = attributes.get("line_items")
        if not isinstance(items, list) or not items:
            raise ValueError("line_items is required.")
        for item in items:
            amount, quantity = item.get("amount"), item.get("quantity")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                raise ValueError("line_items.amount must be a positive integer (centavos).")
            if not isinstance(quantity, int) or quantity <= 0:
                raise ValueError("line_items.quantity must be a positive integer.")
            if item.get("currency") != "PHP" or not item.get("name"):
                raise ValueError("line_items need a name and currency PHP.")
        methods = attributes.get("payment_method_types")
        if not isinstance(methods, list) or not methods or not set(methods) <= set(METHODS):
            raise ValueError(f"payment_method_types must be a non-empty list of {', '.join(METHODS)}.")
        session_id = _id("cs")
        now = _now()
        resource = {
            "id": session_id,
            "type": "checkout_session",
            "attributes": {
                "billing": None,
                "cancel_url": attributes.get("cancel_url"),
                "checkout_url": f"{self.base_url}/checkout/{session_id}",
                "client_key": f"{session_id}_client_{secrets.token_hex(8)}",
                "description": attributes.get("description"),
                "line_items": [{**item, "images": item.get("images", [])} for item in items],
                "livemode": False,
                "merchant": "PayMongo simulator",
                "metadata": attributes.get("metadata"),
                "payments": [],
                "payment_intent": {
                    "id": _id("pi"),
                    "type": "payment_intent",
                    "attributes": {"status": "awaiting_payment_method", "amount": self._total(items)},
                },
                "payment_method_types": methods,
                "payment_method_used": None,
                "paid_at": None,
                "reference_number": attributes.get("reference_number"),
                "send_email_receipt": bool(attributes.get("send_email_receipt", False)),
                "show_description": bool(attributes.get("show_description", True)),
                "show_line_items": bool(attributes.get("show_line_items", True)),
                "status": "active",
                "success_url": attributes.get("success_url"),
                "created_at": now,
                "updated_at": now,
            },
        }
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[session_id] = resource
        return resource

    @staticmethod
    def _total(items: list[dict[str, Any]]) -> int:
        return sum(item["amount"] * item["quantity"] for item in items)

    def session(self, session_id: str) -> dict[str, Any] | None:
        with self._lock:
            resource = self._sessions.get(session_id)
            return json.loads(json.dumps(resource)) if resource is not None else None

    def sessions(self) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(list(self._sessions.values())))

    def session_expire(self, session_id: str) -> bool:
        with self._lock:
            resource = self._sessions.get(session_id)
            if resource is None or resource["attributes"]["payments"]:
                return False
            resource["attributes"]["status"] = "expired"
            resource["attributes"]["updated_at"] = _now()
            return True

    def _payable(self, session_id: str) -> dict[str, Any]:
        resource = self._sessions.get(session_id)
        if resource is None:
            raise LookupError("No such checkout session.")
        attributes = resource["attributes"]
        if attributes["status"] != "active" or any(p["attributes"]["status"] == "paid" for p in attributes["payments"]):
            raise LookupError("This checkout session can no longer be paid.")
        return resource

    def session_pay(self, session_id: str, method: str) -> str:
        """The customer paid: record the payment, deliver the paid event as configured; returns success_url."""
        with self._lock:
            resource = self._payable(session_id)
            attributes = resource["attributes"]
            if method not in attributes["payment_method_types"]:
                raise ValueError("Pick one of the payment methods offered.")
            now = _now()
            intent = attributes["payment_intent"]
            payment = self._payment(resource, method=method, status="paid")
            payment["attributes"]["paid_at"] = now
            attributes["payments"].append(payment)
            attributes["payment_method_used"] = method
            attributes["paid_at"] = now
            attributes["updated_at"] = now
            intent["attributes"]["status"] = "succeeded"
            body = self._event_body("checkout_session.payment.paid", json.loads(json.dumps(resource)))
            self._remember(session_id, body)
            mode, delay = self.config.webhook_mode, self.config.webhook_delay_ms / 1000
            success_url = attributes["success_url"]
        if mode in ("before_return", "twice"):
            self.deliver(body)
        if mode in ("after_return", "twice"):
            self._later(delay, body)
        return success_url

    def session_decline(self, session_id: str, method: str) -> None:
        """A declined attempt: `payment.failed` is delivered at once; the session stays payable."""
        with self._lock:
            resource = self._payable(session_id)
            payment = self._payment(resource, method=method, status="failed")
            payment["attributes"]["failed_code"] = "generic_decline"
            payment["attributes"]["failed_message"] = "The payment was declined (simulated)."
            body = self._event_body("payment.failed", payment)
            self._remember(session_id, body)
        self.deliver(body)

    def _payment(self, resource: dict[str, Any], *, method: str, status: str) -> dict[str, Any]:
        attributes = resource["attributes"]
        now = _now()
        return {
            "id": _id("pay"),
            "type": "payment",
            "attributes": {
                "amount": self._total(attributes["line_items"]),
                "currency": "PHP",
                "description": attributes["description"],
                "livemode": False,
                "status": status,
                "source": {"id": _id("src"), "type": method},
                "payment_intent_id": attributes["payment_intent"]["id"],
                "metadata": attributes["metadata"],
                "created_at": now,
                "updated_at": now,
            },
        }

    def _remember(self, session_id: str, body: bytes) -> None:
        self._last_event[session_id] = body
        self.events.append(body)
        del self.events[:-1000]

    def resend(self, session_id: str) -> bool:
        with self._lock:
            body = self._last_event.get(session_id)
        if body is None:
            return False
        self.deliver(body)
        return True

    # --- webhooks ---

    @staticmethod
    def _event_body(event_type: str, resource: dict[str, Any]) -> bytes:
        now = _now()
        event = {
            "data": {
                "id": _id("evt"),
                "type": "event",
                "attributes": {
                    "type": event_type,
                    "livemode": False,
                    "data": resource,
                    "previous_data": {},
                    "created_at": now,
                    "updated_at": now,
                },
            }
        }
        return json.dumps(event, separators=(",", ":")).encode()

    def deliver(self, body: bytes) -> int | None:
        """POST one signed event to the webhook URL now (signed at sending time); returns the HTTP status."""
        config = self.config
        if not config.webhook_url:
            return None
        header = signature_header(secret=config.webhook_secret, body=body, livemode=False)
        event = json.loads(body)["data"]
        record: dict[str, Any] = {"event_id": event["id"], "type": event["attributes"]["type"], "at": _now()}
        try:
            response = requests.post(
                config.webhook_url,
                data=body,
                headers={"Content-Type": "application/json", HEADER: header},
                timeout=(3.05, 30),
            )
            record["status"] = response.status_code
        except requests.RequestException as error:
            record["status"] = None
            record["error"] = str(error)
        with self._lock:
            self.deliveries.append(record)
            del self.deliveries[:-1000]
        return record["status"]

    def _later(self, delay: float, body: bytes) -> None:
        timer = threading.Timer(delay, self.deliver, args=(body,))
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    # --- the hosted page ---

    def checkout_page(self, session_id: str, *, error: str = "") -> tuple[int, str]:
        resource = self.session(session_id)
        if resource is None:
            return 404, _page("Checkout not found", "<p>This checkout link is not valid.</p>")
        attributes = resource["attributes"]
        paid = any(p["attributes"]["status"] == "paid" for p in attributes["payments"])
        total = self._total(attributes["line_items"])
        rows = "".join(
            f"<tr><td>{html.escape(item['name'])}</td>"
            f"<td class='num'>₱{item['amount'] * item['quantity'] / 100:,.2f}</td></tr>"
            for item in attributes["line_items"]
        )
        summary = (
            f"<table><caption>{html.escape(attributes.get('description') or '')}</caption>{rows}"
            f"<tr><th scope='row'>Total</th><th class='num' id='total'>₱{total / 100:,.2f}</th></tr></table>"
        )
        if paid or attributes["status"] != "active":
            state = "paid" if paid else "expired"
            return 200, _page("Checkout", f"{summary}<p id='state'>This checkout is {state}.</p>")
        choices = "".join(
            f"<label class='method'><input type='radio' name='method' value='{code}'"
            f"{' checked' if index == 0 else ''}> {METHODS[code]}</label>"
            for index, code in enumerate(attributes["payment_method_types"])
        )
        alert = f"<p role='alert' class='error'>{html.escape(error)}</p>" if error else ""
        body = (
            f"{summary}{alert}<form method='post'><fieldset><legend>Pay with</legend>{choices}</fieldset>"
            f"<button type='submit' name='action' value='pay' id='pay'>Pay ₱{total / 100:,.2f}</button> "
            "<button type='submit' name='action' value='decline' id='decline' class='secondary'>"
            "Simulate a declined payment</button> "
            "<button type='submit' name='action' value='cancel' id='cancel' class='secondary'>"
            "Cancel and go back</button>"
            "</form><p class='note'>PayMongo simulator: no money moves.</p>"
        )
        return 200, _page("Checkout", body)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · PayMongo simulator</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
        "table{width:100%;border-collapse:collapse;margin-bottom:1rem}td,th{padding:.4rem;border-bottom:1px solid #ccc;"
        "text-align:left}.num{text-align:right}fieldset{border:1px solid #999;margin-bottom:1rem}"
        "label.method{display:block;padding:.3rem}button{padding:.5rem 1rem;margin:.2rem 0;background:#1d4ed8;"
        "color:#fff;border:0;border-radius:4px}button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8}"
        ".error{color:#a30000}.note{color:#555;font-size:.9rem}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


class _Handler(BaseHTTPRequestHandler):
    server_version = "PayMongoSimulator/1.0"

    @property
    def simulator(self) -> PayMongoSimulator:
        return self.server.simulator  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("The request body is too large.")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: str | bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload), "application/json")

    def _error(self, status: int, code: str, detail: str) -> None:
        self._json(status, {"errors": [{"code": code, "detail": detail}]})

    def _redirect(self, url: str) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": url})

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path.rstrip("/")
        parts = path.strip("/").split("/")
        if path == "/_sim/health":
            return self._json(200, {"ok": True})
        if path == "/_sim/sessions":
            return self._json(200, {"data": self.simulator.sessions()})
        if path == "/_sim/deliveries":
            return self._json(200, {"data": list(self.simulator.deliveries)})
        if parts[:2] == ["v1", "checkout_sessions"] and len(parts) == 3:
            if not self.simulator.authorized(self.headers.get("Authorization")):
                return self._error(401, "unauthorized", "The API key is not valid.")
            resource = self.simulator.session(parts[2])
            if resource is None:
                return self._error(404, "resource_not_found", f"Checkout session with id {parts[2]} cannot be found.")
            return self._json(200, {"data": resource})
        if parts[0] == "checkout" and len(parts) == 2:
            status, page = self.simulator.checkout_page(parts[1])
            return self._send(status, page, "text/html; charset=utf-8")
        return self._error(404, "resource_not_found", "Not found.")

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path.rstrip("/")
        parts = path.strip("/").split("/")
        try:
            raw = self._body()
        except ValueError as error:
            return self._error(413, "parameter_invalid", str(error))
        if path == "/v1/checkout_sessions":
            if not self.simulator.authorized(self.headers.get("Authorization")):
                return self._error(401, "unauthorized", "The API key is not valid.")
            try:
                attributes = json.loads(raw or b"{}")["data"]["attributes"]
                return self._json(200, {"data": self.simulator.session_create(attributes)})
            except (ValueError, KeyError, TypeError) as error:
                return self._error(400, "parameter_invalid", str(error))
        if parts[0] == "checkout" and len(parts) == 2:
            return self._checkout_post(parts[1], raw)
        if path == "/_sim/config":
            try:
                config = self.simulator.configure(**json.loads(raw or b"{}"))
            except (ValueError, TypeError) as error:
                return self._error(400, "parameter_invalid", str(error))
            return self._json(200, {"data": config.__dict__})
        if path == "/_sim/reset":
            self.simulator.reset()
            return self._json(200, {"ok": True})
        if parts[:2] == ["_sim", "sessions"] and len(parts) == 4 and parts[3] in ("expire", "resend"):
            done = (self.simulator.session_expire if parts[3] == "expire" else self.simulator.resend)(parts[2])
            return self._json(200 if done else 409, {"ok": done})
        return self._error(404, "resource_not_found", "Not found.")

    def _checkout_post(self, session_id: str, raw: bytes) -> None:
        form = {key: values[0] for key, values in parse_qs(raw.decode(errors="replace")).items()}
        resource = self.simulator.session(session_id)
        if resource is None:
            status, page = self.simulator.checkout_page(session_id)
            return self._send(status, page, "text/html; charset=utf-8")
        action, method = form.get("action", ""), form.get("method", "")
        try:
            if action == "cancel":
                return self._redirect(resource["attributes"]["cancel_url"] or f"/checkout/{session_id}")
            if action == "decline":
                self.simulator.session_decline(session_id, method)
                status, page = self.simulator.checkout_page(
                    session_id, error="The payment was declined. Try another method or cancel."
                )
                return self._send(status, page, "text/html; charset=utf-8")
            if action == "pay":
                return self._redirect(self.simulator.session_pay(session_id, method) or f"/checkout/{session_id}")
        except (LookupError, ValueError) as error:
            status, page = self.simulator.checkout_page(session_id, error=str(error))
            return self._send(status, page, "text/html; charset=utf-8")
        status, page = self.simulator.checkout_page(session_id, error="Choose to pay or cancel.")
        return self._send(status, page, "text/html; charset=utf-8")
