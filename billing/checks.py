"""Deploy checks for online payments: a production site must not take payments through the bundled simulator.

Registered when this module is imported (`BillingConfig.ready` imports it); `manage.py check --deploy` reports them.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

SIMULATOR_SECRETS = {"sk_test_simulator", "whsk_simulator"}


@checks.register(checks.Tags.security, deploy=True)
def payment_provider_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    host = urlsplit(settings.PAYMONGO_BASE_URL).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        messages.append(
            checks.Warning(
                f"PAYMONGO_BASE_URL is {settings.PAYMONGO_BASE_URL}: checkouts go to the local PayMongo simulator.",
                hint="Set PAYMONGO_BASE_URL=https://api.paymongo.com in production.",
                id="billing.W001",
            )
        )
    if {settings.PAYMONGO_SECRET_KEY, settings.PAYMONGO_WEBHOOK_SECRET} & SIMULATOR_SECRETS:
        messages.append(
            checks.Warning(
                "PAYMONGO_SECRET_KEY or PAYMONGO_WEBHOOK_SECRET is the simulator's: anyone can sign payment webhooks.",
                hint="Set the secret key from PayMongo's dashboard and the signing secret of the webhook you created.",
                id="billing.W002",
            )
        )
    return messages
