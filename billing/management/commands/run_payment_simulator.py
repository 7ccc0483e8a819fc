"""`python manage.py run_payment_simulator`: the local PayMongo stand-in used by `make run`."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.payment_providers.paymongo.simulator import WEBHOOK_MODES, PayMongoSimulator


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = (
        "Run the PayMongo simulator (checkout sessions, hosted checkout page, signed webhooks) on a loopback address."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Loopback address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=None, help="Port (default: PAYMONGO_BASE_URL's).")
        parser.add_argument("--webhook-url", default="", help="Where paid and failed events are POSTed (empty: none).")
        parser.add_argument("--webhook-mode", default="before_return", choices=WEBHOOK_MODES)
        parser.add_argument("--webhook-delay-ms", type=int, default=1500, help="Delay of a late (or second) webhook.")

    def handle(self, *args, **options):
        host = options["host"]
        if not _is_loopback(host):
            raise CommandError(f"--host must be a loopback address (127.0.0.1, ::1, localhost), not {host!r}")
        port = options["port"] if options["port"] is not None else (urlsplit(settings.PAYMONGO_BASE_URL).port or 8026)
        simulator = PayMongoSimulator(
            host,
            port,
            webhook_url=options["webhook_url"],
            webhook_secret=settings.PAYMONGO_WEBHOOK_SECRET,
            secret_key=settings.PAYMONGO_SECRET_KEY,
            webhook_mode=options["webhook_mode"],
            webhook_delay_ms=options["webhook_delay_ms"],
        )
        try:
            simulator.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error}") from error
        self.stdout.write(f"PayMongo simulator on {simulator.base_url} (Ctrl-C to stop)")
        self.stdout.write(f"  API:      {simulator.base_url}/v1/checkout_sessions")
        self.stdout.write(f"  Webhooks: {options['webhook_url'] or '(none)'} ({options['webhook_mode']})")
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("PayMongo simulator stopped.")
