"""A local stand-in for the SMS providers (IPROG and Semaphore) for development and tests.

`ProviderSimulator` is a real threaded HTTP server on 127.0.0.1 that speaks both providers' APIs (as described
in `messaging.providers.iprog` and `messaging.providers.semaphore`), including their quirks, and sends
delivery receipts to a callback URL. Run it with `python manage.py run_provider_simulator`, or in tests
through the `provider_simulator` fixture. See `messaging.simulator.server` for the control endpoints.
"""

from messaging.simulator.server import API_NAMES, ERROR_MODES, ApiSettings, ProviderSimulator

__all__ = ["API_NAMES", "ERROR_MODES", "ApiSettings", "ProviderSimulator"]
