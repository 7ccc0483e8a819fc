"""HTTP requests to addresses customers choose (status webhooks), safe against server-side request forgery.

A webhook URL is checked when it is saved, but a name can resolve elsewhere a minute later (DNS rebinding). So at
every delivery the host is resolved once, every address must be public, and the connection goes to that checked
address: the request's host name is only used for the Host header, TLS SNI and certificate verification.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from portal.errors import ApplicationError

# Ports a customer's HTTPS endpoint may listen on; anything else looks like a port scan of someone's network.
ALLOWED_PORTS = frozenset({443, 8443})


def address_is_public(address: str) -> bool:
    """Whether an IP address belongs to the public internet (not private, loopback, link-local, carrier-grade
    NAT, documentation, multicast or reserved), looking through IPv6 wrappers of IPv4 addresses."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_is_public(str(embedded))
    return ip.is_global and not ip.is_multicast


def resolve_public(hostname: str, port: int) -> str:
    """One public address of `hostname`; refuses when any address it resolves to is not public."""
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(hostname, port, proto=socket.IPPROTO_TCP)})
    except socket.gaierror:
        raise ApplicationError(f"Cannot resolve {hostname!r}.", code="invalid_webhook_url")
    if not addresses or not all(address_is_public(a) for a in addresses):
        raise ApplicationError(
            f"{hostname} resolves to a private or reserved address; use a public URL.", code="invalid_webhook_url"
        )
    return addresses[0]


def _checked_shape(url: str):
    """The URL's parts once its scheme, credentials and port are acceptable (no name resolution here)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(f"{url!r} is not an http(s) URL.", code="invalid_webhook_url")
    if parts.username or parts.password:
        raise ApplicationError("The webhook URL must not contain a user name or password.", code="invalid_webhook_url")
    if settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return parts
    if parts.scheme != "https":
        raise ApplicationError("The webhook URL must use https.", code="invalid_webhook_url")
    if (parts.port or 443) not in ALLOWED_PORTS:
        raise ApplicationError(
            f"The webhook URL must use port {' or '.join(map(str, sorted(ALLOWED_PORTS)))}.", code="invalid_webhook_url"
        )
    return parts


def check_public_url(url: str) -> str:
    """Validate a customer URL for outbound calls; returns it stripped. Development may allow private hosts."""
    url = url.strip()
    parts = _checked_shape(url)
    if not settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS:
        resolve_public(parts.hostname, parts.port or 443)
    return url


class _PinnedAddressAdapter(HTTPAdapter):
    """Connects to a checked IP address while TLS still verifies the certificate for the URL's host name."""

    def __init__(self, hostname: str, **kwargs):
        self._hostname = hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def post_to_public_url(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> requests.Response:
    """POST without following redirects. Raises ApplicationError when the URL is not (or no longer) public."""
    url = url.strip()
    parts = _checked_shape(url)
    if settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return requests.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False)
    port = parts.port or 443
    address = resolve_public(parts.hostname, port)  # resolved once; the connection goes to this address
    host_in_url = f"[{address}]" if ":" in address else address
    pinned_url = urlunsplit(("https", f"{host_in_url}:{port}", parts.path or "/", parts.query, ""))
    default_port = port == 443
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would resolve the name again
        session.mount("https://", _PinnedAddressAdapter(parts.hostname))
        return session.post(
            pinned_url,
            data=data,
            headers={**headers, "Host": parts.hostname if default_port else f"{parts.hostname}:{port}"},
            timeout=timeout,
            allow_redirects=False,
        )
