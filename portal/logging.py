"""Keeps secrets that travel in URL paths out of the logs.

Some links carry their credential in the path because the other side cannot send a header: provider delivery
callbacks, invitation and export-download links, e-mail confirmation and password-reset keys. Django logs the
path of every 4xx/5xx (django.request) and runserver logs every request (django.server); this filter replaces the
secret part with "[redacted]" before any handler writes the record. A front proxy's own access log (nginx,
gunicorn --access-logfile) must be configured the same way or switched off.
"""

from __future__ import annotations

import logging
import re

SECRET_IN_PATH = re.compile(
    r"(?P<prefix>"
    r"/api/v1/callbacks/[\w-]+/\d+/"
    r"|/invitations/"
    r"|/privacy/data/exports/\d+/download/"
    r"|/privacy/request/verify/"
    r"|/privacy/request/status/"
    r"|/accounts/confirm-email/"
    r"|/accounts/password/reset/key/"
    r")(?P<secret>[^/\s\"?]+)"
)


def redact_paths(text: str) -> str:
    return SECRET_IN_PATH.sub(lambda match: f"{match['prefix']}[redacted]", text)


class RedactSecretsInPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
