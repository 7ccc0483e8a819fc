"""Test settings: fast hashing, in-memory e-mail, tasks run in-process once their transaction commits."""

import os
import tempfile
from pathlib import Path

from portal.queues import IMMEDIATE_BACKEND, task_backends

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = task_backends(IMMEDIATE_BACKEND)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"organization": "100000/min"}}  # noqa: F405
# Tests sign staff in with force_login (no second factor) to test admin pages; tests/accounts/test_staff_signin.py
# and the staff browser test turn the second-factor requirement on.
STAFF_MFA_REQUIRED = False
# The API request log is written only when a test asks (accounts.api_usage.api_request_logs_flush), so the queries a
# test counts are the request's own, as with production's batches; tests/conftest.py drops what a test left.
API_REQUEST_LOG_BATCH_SIZE = 1_000_000
API_REQUEST_LOG_FLUSH_SECONDS = 1e9

# On SQLite the test databases are files in the temporary directory, not Django's shared in-memory
# database: the live server answers the browser and the provider simulator's callbacks in threads at once, and an
# in-memory database makes every one of those threads use the one connection of the test, so two concurrent requests
# interleave their savepoints ("no such savepoint", a 500 on a page). With files each thread has its own connection,
# as in production. The process id is in the name so two test runs at once (two checkouts, or two runs in one) never
# share a file; the test run deletes its files at its end.
_TEST_DATABASE_DIR = Path(tempfile.gettempdir())
_TEST_RUN = os.getpid()
for _alias, _database in DATABASES.items():  # noqa: F405
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        _database.setdefault("TEST", {})["NAME"] = str(_TEST_DATABASE_DIR / f"portal-test-{_TEST_RUN}-{_alias}.sqlite3")
