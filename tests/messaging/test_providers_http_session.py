"""The adapters' HTTP session reads the environment once (proxies for the provider's URL, a CA bundle) instead of
on every call, as requests does by default."""

from messaging.providers.iprog.adapter import IprogAdapter


def build(base_url="https://sms.iprogtech.example"):
    return IprogAdapter(base_url=base_url, credentials={"api_token": "t"}, sender_name="IPROGSMS", timeout=5)


def test_environment_proxies_and_ca_bundle_are_kept(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/operator.pem")
    with build() as adapter:
        assert adapter.session.trust_env is False  # not read again on every call
        assert adapter.session.proxies["https"] == "http://proxy.internal:3128"
        assert adapter.session.verify == "/etc/ssl/certs/operator.pem"


def test_no_proxy_and_default_verification_without_environment(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with build() as adapter:
        assert not adapter.session.proxies.get("https")
        assert adapter.session.verify is True
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "sms.iprogtech.example")
    with build() as adapter:
        assert not adapter.session.proxies.get("https")  # the provider's host is exempted
