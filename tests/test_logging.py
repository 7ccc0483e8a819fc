"""Secrets that travel in URL paths never reach the logs."""

import logging

import pytest

from portal.logging import RedactSecretsInPaths, redact_paths


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/callbacks/iprog/1/LaDMyb68o1A0-aAlENZq", "/api/v1/callbacks/iprog/1/[redacted]"),
        ("/invitations/abc_DEF-123/", "/invitations/[redacted]/"),
        ("/privacy/data/exports/7/download/tok-en_1/", "/privacy/data/exports/7/download/[redacted]/"),
        ("/privacy/request/status/s3cr3t/", "/privacy/request/status/[redacted]/"),
        ("/accounts/password/reset/key/1-set-password/", "/accounts/password/reset/key/[redacted]/"),
        ("/api/v1/messages/12", "/api/v1/messages/12"),
    ],
)
def test_paths_lose_their_secret_part(path, expected):
    assert redact_paths(path) == expected


def test_the_filter_rewrites_records_of_django_request_and_runserver(caplog):
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Bad Request: %s",
        ("/api/v1/callbacks/iprog/3/topsecret",),
        None,
    )
    assert RedactSecretsInPaths().filter(record) is True
    assert record.getMessage() == "Bad Request: /api/v1/callbacks/iprog/3/[redacted]"
    assert "topsecret" not in record.getMessage()


def test_the_configured_handlers_carry_the_filter(settings):
    handlers = settings.LOGGING["handlers"]
    assert all("redact_secrets" in handler["filters"] for handler in handlers.values())
    assert settings.LOGGING["loggers"]["django.server"]["handlers"] == ["django.server"]
