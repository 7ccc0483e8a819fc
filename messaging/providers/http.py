"""HTTP plumbing shared by the adapters: one `requests.Session` each, a (connect, read) timeout on every call,
and the transport-level error classification (timeouts, connection errors, 5xx, 429, 401/403).

Provider-specific bodies (IPROG's "HTTP 200 with status 500", Semaphore's validation dicts) are read by each
adapter; this module only turns what every HTTP API has in common into `ProviderError` subclasses.
"""

from __future__ import annotations

import logging
import os
from email.utils import parsedate_to_datetime
from itertools import groupby
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from messaging.numbers import InvalidPhoneNumber, to_digits
from messaging.providers.base import (
    OutboundSMS,
    ProviderAdapter,
    ProviderConfigError,
    ProviderConnectionError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    SendResult,
)

logger = logging.getLogger("messaging.providers")

DEFAULT_CONNECT_TIMEOUT = 3.05


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


class HTTPProviderAdapter(ProviderAdapter):
    """Adds a session and a `_request` that never waits forever and never leaks a requests exception."""

    def __init__(self, *, base_url: str, credentials: dict[str, Any], sender_name: str, timeout: float) -> None:
        super().__init__(base_url=base_url, credentials=credentials, sender_name=sender_name, timeout=timeout)
        if not self.base_url.startswith(("http://", "https://")):
            raise ProviderConfigError(
                f"{self.label} base URL must start with http:// or https://, got {self.base_url!r}",
                code="provider_bad_base_url",
            )
        connect = getattr(settings, "PROVIDER_HTTP_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)
        self.request_timeout = (min(connect, timeout), timeout)
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "sms-portal/1"})
        # What requests would read from the environment on every call (about a quarter of its CPU time per
        # call), read once per adapter: the proxies for this provider's URL and a CA bundle. A ~/.netrc is not
        # consulted: providers authenticate with the route's credentials.
        self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.trust_env = False

    def close(self) -> None:
        self.session.close()

    # --- bulk sending shared by providers whose bulk call sends one text to many numbers ---

    def send_bulk(self, *, items: list[OutboundSMS]) -> list[SendResult | ProviderError]:
        """Consecutive items with the same body travel in one request (up to `max_bulk`). A request the
        provider rejects as a whole is retried item by item, so one bad number does not fail its neighbours.
        A route-wide error (config, quota, connection, rate limit) is raised when nothing was sent yet;
        after some requests went through it becomes the outcome of every item not yet sent."""
        results: list[SendResult | ProviderError] = []
        for body, group_iter in groupby(items, key=lambda item: item.body):
            group = list(group_iter)
            for start in range(0, len(group), self.max_bulk):
                try:
                    results.extend(self._send_group(body, group[start : start + self.max_bulk]))
                except ProviderError as error:
                    if not results:
                        raise
                    return results + [error] * (len(items) - len(results))
        return results

    def _send_group(self, body: str, group: list[OutboundSMS]) -> list[SendResult | ProviderError]:
        outcomes: list[SendResult | ProviderError | None] = [None] * len(group)
        sendable: list[tuple[int, OutboundSMS]] = []
        for index, item in enumerate(group):
            try:
                self._provider_number(item.recipient)
            except ProviderRejected as error:
                outcomes[index] = error
            else:
                sendable.append((index, item))
        if len(sendable) == 1:
            self._send_each(sendable, outcomes)
        elif sendable:
            try:
                bulk_outcomes = self._bulk_request(body, [item for _, item in sendable])
            except ProviderRejected:
                self._send_each(sendable, outcomes)
            else:
                for (index, _), outcome in zip(sendable, bulk_outcomes, strict=True):
                    outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def _send_each(
        self, sendable: list[tuple[int, OutboundSMS]], outcomes: list[SendResult | ProviderError | None]
    ) -> None:
        for index, item in sendable:
            try:
                outcomes[index] = self.send(recipient=item.recipient, body=item.body, reference=item.reference)
            except ProviderRejected as error:
                outcomes[index] = error

    def _bulk_request(self, body: str, items: list[OutboundSMS]) -> list[SendResult | ProviderError]:
        """One provider request for `items` (all with `body`); one outcome per item, same order."""
        raise NotImplementedError

    def _provider_number(self, recipient: str) -> str:
        """639XXXXXXXXX, the form both Philippine providers take; a non-E.164 recipient is rejected unsent."""
        try:
            return to_digits(recipient)
        except InvalidPhoneNumber as error:
            raise ProviderRejected(error.message, code="invalid_number")

    def _ambiguous(self, received: int, expected: int, data: Any) -> ProviderError:
        # We cannot tell which number got which id; retrying could double-send, so this is not retryable.
        return ProviderError(
            f"{self.label} bulk answer had {received} results for {expected} numbers",
            code="provider_ambiguous_response",
            details={"response": data},
        )

    # --- transport ---

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, timeout=self.request_timeout, **kwargs)
        except requests.Timeout as error:
            raise ProviderConnectionError(
                f"{self.label} did not answer within {self.timeout:g}s ({method} {path})",
                code="provider_timeout",
            ) from error
        except requests.ConnectionError as error:
            raise ProviderConnectionError(
                f"Cannot reach {self.label} ({method} {path}): {type(error).__name__}",
                code="provider_unreachable",
            ) from error
        except requests.RequestException as error:
            raise ProviderConnectionError(
                f"{self.label} request failed ({method} {path}): {type(error).__name__}",
                code="provider_request_failed",
            ) from error
        logger.debug("%s %s %s -> %s", self.code, method, path, response.status_code)
        self._raise_for_transport_status(response, method=method, path=path)
        return response

    def _raise_for_transport_status(self, response: requests.Response, *, method: str, path: str) -> None:
        status = response.status_code
        if status in (401, 403):
            raise ProviderConfigError(
                f"{self.label} refused our credentials (HTTP {status} on {method} {path})",
                code="provider_auth_failed",
                http_status=status,
            )
        if status == 429:
            raise ProviderRateLimited(
                f"{self.label} is throttling us (HTTP 429 on {method} {path})",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                http_status=status,
            )
        if status >= 500:
            raise ProviderConnectionError(
                f"{self.label} failed with HTTP {status} on {method} {path}",
                code="provider_server_error",
                http_status=status,
            )
        if status in (408, 425):
            raise ProviderConnectionError(
                f"{self.label} answered HTTP {status} on {method} {path}",
                code="provider_timeout",
                http_status=status,
            )

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            snippet = response.text[:120].replace("\n", " ")
            raise ProviderConnectionError(
                f"{self.label} answered HTTP {response.status_code} with a non-JSON body: {snippet!r}",
                code="provider_bad_response",
                http_status=response.status_code,
            )
