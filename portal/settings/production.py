"""Production settings: refuses to start without strong secrets (SECRET_KEY, FIELD_ENCRYPTION_KEYS, HASHING_PEPPER) and
ALLOWED_HOSTS; HTTPS everywhere."""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
SECRET_MIN_LENGTH = 50
SECRET_MIN_DISTINCT = 5


def _weak_secret(value: str) -> bool:
    """Django's own `check --deploy` rule for SECRET_KEY (security.W009), here fatal."""
    return len(value) < SECRET_MIN_LENGTH or len(set(value)) < SECRET_MIN_DISTINCT


if not SECRET_KEY or SECRET_KEY.startswith("dev-only"):
    raise ImproperlyConfigured("Set SECRET_KEY in the environment for production.")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS in the environment for production.")
if _weak_secret(SECRET_KEY):
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak: use at least {SECRET_MIN_LENGTH} characters, at least {SECRET_MIN_DISTINCT} of them "
        f"different (generate one with {GENERATE_SECRET})."
    )
# No default derived from SECRET_KEY: rotating SECRET_KEY must not make encrypted data unreadable or change the
# keyed hashes of erased people.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "Set FIELD_ENCRYPTION_KEYS (Fernet keys, newest first) in the environment for production; generate one with "
        'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())".'
    )
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from error
HASHING_PEPPER = env("HASHING_PEPPER", default="")
if not HASHING_PEPPER:
    raise ImproperlyConfigured("Set HASHING_PEPPER in the environment for production.")
if _weak_secret(HASHING_PEPPER):
    raise ImproperlyConfigured(
        f"HASHING_PEPPER is too weak: use at least {SECRET_MIN_LENGTH} characters, at least {SECRET_MIN_DISTINCT} of "
        f"them different (generate one with {GENERATE_SECRET})."
    )
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and not env("ERASURE_LEDGER_URL", default=""):  # noqa: F405
    raise ImproperlyConfigured(
        "Set ERASURE_LEDGER_URL to the erasure ledger's own PostgreSQL database (not the main one): a restore of the "
        "main database must not reach it."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
