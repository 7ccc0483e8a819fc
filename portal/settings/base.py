"""Settings shared by every environment.

Everything that differs in production is read from the environment (django-environ); `.env.example` documents each
variable. The defaults serve a first run: SQLite in the project folder, the database task backend, e-mail to the
console and the bundled provider simulator.
"""

import base64
import hashlib
from pathlib import Path

import environ

from portal.queues import DATABASE_BACKEND, IMMEDIATE_BACKEND, RQ_BACKEND, rq_queues, task_backends

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
SITE_NAME = env("SITE_NAME", default="SMS Portal")

INSTALLED_APPS = [
    "portal.admin_site.PortalAdminConfig",  # django.contrib.admin, with tenant queries opened for staff
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Redoc served from our static files (the API reference works offline)
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "django_prometheus",  # /metrics (portal.monitoring): request counters and latency by view
    "portal",
    "accounts",
    "billing",
    "messaging",
    "privacy",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.api.APIErrorShapeMiddleware",  # errors under /api/ answer JSON, also those raised before a view
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.ActiveOrganizationMiddleware",
    "accounts.middleware.StaffMultiFactorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last: sees the view and the status
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "accounts.context_processors.active_organization",
                "messaging.context_processors.site_notices",
                "privacy.context_processors.policy_banner",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A kept connection is checked before a request or task reuses it: after a database restart the first query does
# not fail on a dead connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def postgresql_prepared_statements(database: dict) -> None:
    """Parameters bound by the server, and a statement run five times on a connection prepared there: the send
    path's statements are then neither parsed nor planned again, nor their values quoted into SQL text in Python
    (about half the database's CPU of a one-message send, and a quarter of the web process's; docs/PERFORMANCE.md).
    Behind a pooler in transaction mode (PgBouncer before 1.21, or without max_prepared_statements) set
    DB_PREPARED_STATEMENTS=false: a prepared statement lives on one server connection."""
    if database["ENGINE"] == "django.db.backends.postgresql" and env.bool("DB_PREPARED_STATEMENTS", default=True):
        database.setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": env.int("DB_PREPARE_THRESHOLD", default=5)}
        )


postgresql_prepared_statements(DATABASES["default"])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the task worker read while the other writes; a busy timeout instead of
    # "database is locked" when both write at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The erasure ledger (keyed hashes of the people who were erased) lives in a database of its own, which restoring a
# backup of the main database cannot reach; `manage.py replay_erasures` re-applies it after a restore. Default: its
# own SQLite file beside the main SQLite file, or a database named <main>_erasure_ledger on the same PostgreSQL
# server (production requires ERASURE_LEDGER_URL: a separate database, backed up separately). privacy.routers sends
# the ledger model there and nothing else.
if env("ERASURE_LEDGER_URL", default=""):
    DATABASES["erasure_ledger"] = env.db("ERASURE_LEDGER_URL")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["erasure_ledger"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(DATABASES["default"]["NAME"]).parent / "erasure-ledger.sqlite3"),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
    }
else:
    DATABASES["erasure_ledger"] = {
        key: value for key, value in DATABASES["default"].items() if key not in ("TEST", "ATOMIC_REQUESTS")
    }
    DATABASES["erasure_ledger"]["NAME"] = f"{DATABASES['default']['NAME']}_erasure_ledger"
DATABASES["erasure_ledger"]["ATOMIC_REQUESTS"] = False
DATABASES["erasure_ledger"]["CONN_MAX_AGE"] = 0
DATABASE_ROUTERS = ["privacy.routers.ErasureLedgerRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Manila"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
# Pinned front-end packages (package.json / package-lock.json), installed by `make install` from the npm registry.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Private files (exports, receipts): never served by a static/media route, only through views that check access.
PRIVATE_STORAGE_ROOT = Path(env("PRIVATE_STORAGE_ROOT", default=str(BASE_DIR / "var" / "private")))

# --- Authentication (django-allauth) ---
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="SMS Portal")
# Failed sign-ins: 10 a minute from one client address, 5 in 5 minutes for one e-mail address; past either the form
# refuses even the right password until the window has passed. Admin signs in through the same form (portal/urls.py).
# The counts live in the cache (CACHE_URL), which every web process must share.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Staff reach admin and the staff pages only in a session signed in with an authenticator code (TOTP); a staff account
# without one is sent to set it up (accounts.staff_access).
STAFF_MFA_REQUIRED = True

# --- E-mail ---
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="SMS Portal <no-reply@sms-portal.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# --- Cache (rate limits, idempotency windows) ---
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}

# --- Background tasks (Django tasks API) ---
# The queues (otp, send, webhooks, maintenance, default) are declared in portal/queues.py; `manage.py task_worker`
# serves them with whichever backend is set here.
TASK_BACKEND = env("TASK_BACKEND", default="database")
if TASK_BACKEND == "rq":
    TASKS = task_backends(RQ_BACKEND)
    RQ_QUEUES = rq_queues(env("REDIS_URL", default="redis://127.0.0.1:6379/0"))
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
elif TASK_BACKEND == "immediate":
    TASKS = task_backends(IMMEDIATE_BACKEND)
else:
    TASKS = task_backends(DATABASE_BACKEND)


# --- Encryption at rest: Fernet keys, newest first (old ones still decrypt during rotation) ---
def _derived_fernet_key(secret: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret}".encode()).digest()).decode()


FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[_derived_fernet_key(SECRET_KEY)])
# Keyed hashes (erasure ledger, pseudonymised identifiers) use their own secret so they survive a SECRET_KEY rotation.
HASHING_PEPPER = env("HASHING_PEPPER", default=f"pepper:{SECRET_KEY}")

# --- API ---
# Reverse proxies in front of the site that append to X-Forwarded-For (0: the peer address is the client). The client
# address is the entry this many places from the right: entries further left are whatever the client sent.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# allauth (sign-in rate limits) reads the same count; accounts.adapters also takes the address from accounts.services.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
REST_FRAMEWORK = {
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.APIAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["portal.throttling.OrganizationRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"organization": env("API_RATE_LIMIT", default="600/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SMS Portal API",
    "DESCRIPTION": "Send SMS to Philippine networks. Authenticate with `Authorization: Bearer <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "REDOC_DIST": "SIDECAR",
}
API_KEY_PREFIX = "sk_live_"
# The API request log is written in batches per process (accounts.api_usage): this many rows, or once the oldest
# waiting row is this many seconds old, whichever comes first.
API_REQUEST_LOG_BATCH_SIZE = 100
API_REQUEST_LOG_FLUSH_SECONDS = 1.0

# --- Security headers that hold in every environment ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "portal.logging.RedactSecretsInPaths"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "server", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Named here so that Django's own default handlers (a console handler that prints while DEBUG is on, without
        # the redacting filter) are replaced: every django record goes through the filtered handlers above.
        "django": {"level": "INFO"},
        # These records name the request path: redacted where they are made, before any handler sees them.
        "django.request": {"filters": ["redact_secrets"]},
        "django.security.csrf": {"filters": ["redact_secrets"]},
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # Every task run logs RUNNING/SUCCESSFUL at INFO; periodic jobs would drown the log. Failures still show.
        "django_tasks": {"level": env("TASKS_LOG_LEVEL", default="WARNING")},
    },
}

# seed_demo's password for the demo accounts (printed by the command; only for first runs and demos).
DEMO_PASSWORD = env("DEMO_PASSWORD", default="demo-portal-2026")

# Staff who receive operational alerts (failed erasures, stuck requests, provider outages).
OPS_ALERT_EMAILS = env.list("OPS_ALERT_EMAILS", default=["ops@sms-portal.example"])

# --- Monitoring (portal/monitoring): /healthz, /readyz, /metrics ---
# /metrics answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>` or calls from one of these addresses
# or networks (CIDR); with neither set it refuses everyone.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# /readyz says not ready when the oldest task due to run has waited longer than this (workers stopped or swamped).
READYZ_MAX_TASK_AGE_SECONDS = env.int("READYZ_MAX_TASK_AGE_SECONDS", default=600)

# === billing settings ===
# Calendar months (monthly limits, statements, receipt years) are the operator's: TIME_ZONE, see portal/timezone.py.
# Used only until staff create a default PricePlan in admin (the billing migration creates one with these values).
BILLING_DEFAULT_PRICE_PER_SEGMENT = env("BILLING_DEFAULT_PRICE_PER_SEGMENT", default="1.00")
BILLING_DEFAULT_CREDIT_PRICE_PHP = env("BILLING_DEFAULT_CREDIT_PRICE_PHP", default="0.50")
BILLING_RECEIPT_PREFIX = env("BILLING_RECEIPT_PREFIX", default="R")
# Printed on receipts.
BILLING_RECEIPT_ISSUER = {
    "name": env("BILLING_ISSUER_NAME", default="SMS Portal"),
    "address": env("BILLING_ISSUER_ADDRESS", default="Metro Manila, Philippines"),
    "tin": env("BILLING_ISSUER_TIN", default=""),
    "email": env("BILLING_ISSUER_EMAIL", default="billing@sms-portal.example"),
    # A VAT-registered seller's receipts split the total into VATable sales and VAT; a non-VAT seller's say so.
    "vat_registered": env.bool("BILLING_ISSUER_VAT_REGISTERED", default=False),
    "vat_rate": env("BILLING_VAT_RATE", default="12.00"),
}
# Online payment providers (dotted paths of `billing.payment_providers.base.PaymentProvider` subclasses, one
# package per provider) and the one checkouts use.
BILLING_PAYMENT_PROVIDERS = env.list(
    "BILLING_PAYMENT_PROVIDERS", default=["billing.payment_providers.paymongo.provider.PayMongoProvider"]
)
BILLING_CHECKOUT_PROVIDER = env("BILLING_CHECKOUT_PROVIDER", default="paymongo")
# PayMongo: the defaults speak to the bundled simulator (`manage.py run_payment_simulator`, started by `make run`).
PAYMONGO_BASE_URL = env("PAYMONGO_BASE_URL", default="http://127.0.0.1:8026")
PAYMONGO_SECRET_KEY = env("PAYMONGO_SECRET_KEY", default="sk_test_simulator")
PAYMONGO_WEBHOOK_SECRET = env("PAYMONGO_WEBHOOK_SECRET", default="whsk_simulator")
PAYMONGO_WEBHOOK_TOLERANCE_SECONDS = env.int("PAYMONGO_WEBHOOK_TOLERANCE_SECONDS", default=300)
PAYMONGO_PAYMENT_METHOD_TYPES = env.list("PAYMONGO_PAYMENT_METHOD_TYPES", default=["gcash", "paymaya", "card", "qrph"])
# A checkout still unpaid this long after it was opened is marked failed as abandoned (credited if paid later).
BILLING_CHECKOUT_EXPIRY_MINUTES = env.int("BILLING_CHECKOUT_EXPIRY_MINUTES", default=24 * 60)

# === messaging settings ===
# Provider adapters the portal knows (dotted paths); a Provider row names one by its `code`.
SMS_PROVIDER_ADAPTERS = env.list(
    "SMS_PROVIDER_ADAPTERS",
    default=[
        "messaging.providers.iprog.adapter.IprogAdapter",
        "messaging.providers.semaphore.adapter.SemaphoreAdapter",
    ],
)
# Seconds: (connect, read) timeout for every provider HTTP call.
PROVIDER_HTTP_TIMEOUT = env.float("PROVIDER_HTTP_TIMEOUT", default=10.0)
PROVIDER_HTTP_CONNECT_TIMEOUT = env.float("PROVIDER_HTTP_CONNECT_TIMEOUT", default=3.05)
# The bundled provider simulator (`manage.py run_provider_simulator`), the default base URL in development.
PROVIDER_SIMULATOR_URL = env("PROVIDER_SIMULATOR_URL", default="http://127.0.0.1:8025")
# Engine (messaging/services): dispatch batches, retries, circuit breaker, crash recovery, webhooks, OTP.
SMS_DISPATCH_BATCH_SIZE = env.int("SMS_DISPATCH_BATCH_SIZE", default=500)  # messages claimed per round
SMS_RETRY_BASE_SECONDS = env.float("SMS_RETRY_BASE_SECONDS", default=10.0)  # first backoff; doubles per attempt
SMS_RETRY_MAX_SECONDS = env.float("SMS_RETRY_MAX_SECONDS", default=600.0)  # backoff cap (before jitter)
SMS_SEND_DEADLINE_SECONDS = env.int("SMS_SEND_DEADLINE_SECONDS", default=6 * 3600)  # then failed + refunded
# Calls at once to a provider that takes one number a call, per worker process (threads share one HTTP pool).
SMS_DISPATCH_CALL_THREADS = env.int("SMS_DISPATCH_CALL_THREADS", default=8)
SMS_CIRCUIT_FAILURE_THRESHOLD = env.int("SMS_CIRCUIT_FAILURE_THRESHOLD", default=5)  # consecutive, opens it
SMS_CIRCUIT_COOLDOWN_SECONDS = env.int("SMS_CIRCUIT_COOLDOWN_SECONDS", default=120)  # then one probe
SMS_IN_FLIGHT_TIMEOUT_SECONDS = env.int("SMS_IN_FLIGHT_TIMEOUT_SECONDS", default=300)  # then reconciled
SMS_MAX_RECIPIENTS_PER_REQUEST = 1000
# Small sends made at the same moment by the threads of one process share one transaction (portal.group_commit).
SMS_SEND_GROUP_COMMIT = env.bool("SMS_SEND_GROUP_COMMIT", default=True)
SMS_MAX_BODY_CHARACTERS = env.int("SMS_MAX_BODY_CHARACTERS", default=1530)  # 10 GSM-7 segments
SMS_CALLBACK_BASE_URL = env("SMS_CALLBACK_BASE_URL", default=SITE_URL)  # where providers POST receipts
SMS_STATUS_POLL_AFTER_SECONDS = env.int("SMS_STATUS_POLL_AFTER_SECONDS", default=60)
# Providers with delivery callbacks are asked too once a receipt is this late (a callback can be lost).
SMS_STATUS_POLL_MISSING_RECEIPT_SECONDS = env.int("SMS_STATUS_POLL_MISSING_RECEIPT_SECONDS", default=900)
SMS_STATUS_POLL_GIVE_UP_SECONDS = env.int("SMS_STATUS_POLL_GIVE_UP_SECONDS", default=3 * 86400)
SMS_WEBHOOK_TIMEOUT_SECONDS = env.float("SMS_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
SMS_WEBHOOK_MAX_ATTEMPTS = env.int("SMS_WEBHOOK_MAX_ATTEMPTS", default=8)
SMS_WEBHOOK_RETRY_BASE_SECONDS = env.float("SMS_WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
# Refuse webhook URLs that resolve to private/loopback addresses (SSRF); tests and local development allow them.
SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("SMS_WEBHOOK_ALLOW_PRIVATE_HOSTS", default=DEBUG)
SMS_OTP_LENGTH = 6
SMS_OTP_TTL_SECONDS = env.int("SMS_OTP_TTL_SECONDS", default=300)
SMS_OTP_MAX_ATTEMPTS = env.int("SMS_OTP_MAX_ATTEMPTS", default=5)
SMS_IDEMPOTENCY_TTL_SECONDS = 24 * 3600

# === privacy settings ===
# Requests: the organization whose credits pay for privacy one-time codes (created on demand), and the
# privacy officer who receives overdue escalations and step failures (with OPS_ALERT_EMAILS).
PRIVACY_OPERATOR_ORGANIZATION_SLUG = env("PRIVACY_OPERATOR_ORGANIZATION_SLUG", default="operator")
PRIVACY_OFFICER_EMAIL = env("PRIVACY_OFFICER_EMAIL", default="privacy@sms-portal.example")
PRIVACY_POLICY_EMAIL_BATCH_SIZE = env.int("PRIVACY_POLICY_EMAIL_BATCH_SIZE", default=500)
# Data: erasure, exports, retention.
# Hours between marking an erasure and running it: time to cancel a mistaken or fraudulent request.
PRIVACY_ERASURE_GRACE_HOURS = env.int("PRIVACY_ERASURE_GRACE_HOURS", default=24)
# Billing records are kept this many years after the transaction even when the person asks for erasure: the
# Philippine National Internal Revenue Code (sec. 235, as amended by RA 10963 "TRAIN") and BIR rules require books
# and supporting documents to be kept for 10 years; the Data Privacy Act (RA 10173 sec. 12(c)/(e)) allows processing
# needed for a legal obligation. Only what the tax record needs is kept (amounts, dates, organization); names and
# contact details are removed.
PRIVACY_BILLING_RETENTION_YEARS = env.int("PRIVACY_BILLING_RETENTION_YEARS", default=10)
PRIVACY_EXPORT_LINK_DAYS = env.int("PRIVACY_EXPORT_LINK_DAYS", default=7)
PRIVACY_EXPORT_CHUNK_SIZE = env.int("PRIVACY_EXPORT_CHUNK_SIZE", default=2000)
PRIVACY_ERASURE_MAX_ATTEMPTS = env.int("PRIVACY_ERASURE_MAX_ATTEMPTS", default=5)
PRIVACY_RETENTION_BATCH_SIZE = env.int("PRIVACY_RETENTION_BATCH_SIZE", default=1000)
PRIVACY_DORMANT_NOTICE_DAYS = env.int("PRIVACY_DORMANT_NOTICE_DAYS", default=30)
# Days each category is kept before the daily retention job deletes or pseudonymises it (staff may change the
# RetentionRule rows in admin; these are the values used until they do).
PRIVACY_RETENTION_DEFAULTS = {
    "message_bodies": 90,
    "message_metadata": 730,
    "login_records": 365,
    "api_request_logs": 90,
    "webhook_delivery_logs": 30,
    "export_files": 14,
    "closed_requests": 1095,
    "request_correspondence": 1095,
    "otp_records": 30,
    "contact_inquiries": 730,
    "audit_extra_data": 730,
    # Three years without a sign-in: a notice PRIVACY_DORMANT_NOTICE_DAYS before, then the account is anonymised.
    "dormant_accounts": 1095,
    # Tax law: books and receipts are kept 10 years after the transaction (10 x 365.25 days, rounded up).
    "closed_org_billing": -(-PRIVACY_BILLING_RETENTION_YEARS * 36525 // 100),
}
