"""Test settings: fast hashing, in-memory e-mail, tasks run in-process once their transaction commits."""

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
