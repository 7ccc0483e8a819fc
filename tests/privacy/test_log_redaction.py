"""Secret links of privacy pages (export download tokens, status and e-mail links) never reach a log, whatever the
configuration: Django's own default handlers (which print while DEBUG is on) included."""

import io
import logging

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils.log import configure_logging

TOKEN = "s3cret-Download-Token_42"
PATHS = [
    f"/privacy/data/exports/999/download/{TOKEN}/",
    f"/privacy/request/status/{TOKEN}/",
    f"/privacy/request/verify/{TOKEN}/",
]


@pytest.fixture
def captured_logging(settings):
    """The logging set up as `django.setup()` does (Django's defaults, then LOGGING), every stream captured."""
    settings.DEBUG = True
    configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)
    stream = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("", *logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(stream)
    yield stream
    settings.DEBUG = False
    configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)


@pytest.mark.django_db
def test_download_token_and_status_links_are_redacted_with_debug_on(captured_logging):
    client = Client(enforce_csrf_checks=True)
    for path in PATHS:
        client.get(path)  # 404: django.request logs "Not Found: <path>"
        client.post(path, HTTP_ORIGIN="null")  # 403: django.security.csrf logs the path too
    for path in PATHS:
        logging.getLogger("django.request").warning("Not Found: %s", path)
    output = captured_logging.getvalue()
    assert "[redacted]" in output
    assert TOKEN not in output
