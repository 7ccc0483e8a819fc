"""Benchmark settings (`make bench`): production-like serving on a throwaway PostgreSQL database.

DEBUG is off (no query log), the API rate limit is so high it never refuses (its bookkeeping still runs, as
in production), and ROOT_URLCONF adds the bare comparison endpoint of portal/bench_urls.py. Not for users.
"""

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, env, postgresql_prepared_statements

DEBUG = False
ROOT_URLCONF = "portal.bench_urls"

DATABASES["default"] = env.db("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/sms_portal_bench")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = 600
postgresql_prepared_statements(DATABASES["default"])

# Per second: the throttle's history then holds one second of requests, so its cost stays that of production.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {**REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "organization": "1000000/s"},
}

# Plain storage: the benchmark never runs collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
