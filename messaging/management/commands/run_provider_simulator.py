"""`python manage.py run_provider_simulator`: the local IPROG + Semaphore stand-in used by `make run`."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messaging.simulator.server import ProviderSimulator


def _default_port() -> int:
    return urlsplit(getattr(settings, "PROVIDER_SIMULATOR_URL", "")).port or 8025


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = "Run the SMS provider simulator (IPROG and Semaphore APIs) on a loopback address."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Loopback address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=None, help="Port (default: PROVIDER_SIMULATOR_URL's).")
        parser.add_argument("--iprog-quota", type=int, default=None, help="IPROG messages per month.")
        parser.add_argument("--semaphore-quota", type=int, default=None, help="Semaphore credits.")
        parser.add_argument("--error-rate", type=float, default=0.0, help="Share of sends failing (0..1).")
        parser.add_argument("--latency-ms", type=int, default=0, help="Delay before every answer.")
        parser.add_argument("--callback-url", default="", help="Where both APIs POST delivery receipts (empty: none).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed for repeatable failures.")

    def handle(self, *args, **options):
        host = options["host"]
        if not _is_loopback(host):
            raise CommandError(f"--host must be a loopback address (127.0.0.1, ::1, localhost), not {host!r}")
        common = {
            "error_rate": options["error_rate"],
            "latency_ms": options["latency_ms"],
            "callback_url": options["callback_url"],
        }
        try:
            simulator = ProviderSimulator(
                host,
                options["port"] if options["port"] is not None else _default_port(),
                iprog={**common, "quota": options["iprog_quota"]},
                semaphore={**common, "quota": options["semaphore_quota"]},
                seed=options["seed"],
            )
        except ValueError as error:
            raise CommandError(str(error))
        try:
            simulator.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{simulator.port}: {error}")
        self.stdout.write(f"Provider simulator on {simulator.base_url} (Ctrl-C to stop)")
        self.stdout.write(f"  IPROG:     {simulator.base_url}/api/v1/sms_messages")
        self.stdout.write(f"  Semaphore: {simulator.base_url}/api/v4/messages")
        self.stdout.write(f"  Control:   {simulator.base_url}/_sim/config, /_sim/reset, /_sim/messages")
        try:
            simulator.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Provider simulator stopped.")
