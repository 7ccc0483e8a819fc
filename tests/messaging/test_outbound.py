"""Outbound calls to customer URLs (status webhooks) cannot be turned against private networks."""

import socket

import pytest
import requests

from messaging.services import outbound
from messaging.services.outbound import address_is_public, check_public_url, post_to_public_url
from portal.errors import ApplicationError


@pytest.fixture
def production_rules(settings):
    settings.SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = False


def resolves_to(monkeypatch, *addresses):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.100.100.200", False),  # carrier-grade NAT (Alibaba Cloud metadata)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("2002:a00:1::", False),  # 6to4 wrapping 10.0.0.1
        ("2002:5db8:d70e::", True),  # 6to4 wrapping a public address
    ],
)
def test_public_addresses(address, public):
    assert address_is_public(address) is public


def test_urls_are_checked_for_scheme_port_credentials_and_address(production_rules, monkeypatch):
    resolves_to(monkeypatch, "93.184.215.14")
    assert check_public_url(" https://hooks.example.com/sms ") == "https://hooks.example.com/sms"
    assert check_public_url("https://hooks.example.com:8443/sms")
    for url, reason in [
        ("http://hooks.example.com/sms", "https"),
        ("https://hooks.example.com:22/sms", "port"),
        ("https://user:pw@hooks.example.com/sms", "password"),
        ("ftp://hooks.example.com/", "not an http"),
    ]:
        with pytest.raises(ApplicationError, match=reason):
            check_public_url(url)
    resolves_to(monkeypatch, "93.184.215.14", "10.0.0.7")  # one bad address is enough
    with pytest.raises(ApplicationError, match="private"):
        check_public_url("https://hooks.example.com/sms")


def test_a_name_that_rebinds_to_a_private_address_is_never_contacted(production_rules, monkeypatch):
    resolves_to(monkeypatch, "169.254.169.254")
    monkeypatch.setattr(requests.Session, "request", lambda *a, **k: pytest.fail("must not connect"))
    with pytest.raises(ApplicationError, match="private"):
        post_to_public_url("https://hooks.example.com/sms", data=b"{}", headers={}, timeout=1)


def test_the_connection_goes_to_the_checked_address_with_the_name_kept_for_tls(production_rules, monkeypatch):
    resolves_to(monkeypatch, "93.184.215.14")
    seen = {}

    def fake_send(adapter, request, **kwargs):
        seen["url"], seen["host"] = request.url, request.headers["Host"]
        seen["sni"] = adapter.poolmanager.connection_pool_kw["server_hostname"]
        seen["verify"] = kwargs["verify"]
        response = requests.Response()
        response.status_code = 204
        return response

    monkeypatch.setattr(outbound._PinnedAddressAdapter, "send", fake_send)
    lookups = []
    real_getaddrinfo = outbound.socket.getaddrinfo
    monkeypatch.setattr(
        outbound.socket, "getaddrinfo", lambda *a, **k: lookups.append(a[0]) or real_getaddrinfo(*a, **k)
    )
    response = post_to_public_url("https://hooks.example.com/sms?x=1", data=b"{}", headers={}, timeout=1)
    assert response.status_code == 204
    assert lookups == ["hooks.example.com"]  # resolved once: the checked address is the one connected to
    assert seen == {
        "url": "https://93.184.215.14:443/sms?x=1",
        "host": "hooks.example.com",
        "sni": "hooks.example.com",
        "verify": True,
    }
