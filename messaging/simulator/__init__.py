"""A local stand-in for the SMS providers (IPROG and Semaphore) for development and tests.

`server.ProviderSimulator` is a real threaded HTTP server on 127.0.0.1 that speaks both providers' APIs (as
described in `messaging.providers.iprog` and `messaging.providers.semaphore`), including their quirks, and sends
delivery receipts to a callback URL. Each provider's way of speaking is in its own module (`iprog`, `semaphore`,
on the interface in `protocol`); the per-API settings are in `api_settings`. Run it with
`python manage.py run_provider_simulator`, or in tests through the `provider_simulator` fixture. See
`messaging.simulator.server` for the control endpoints.
"""
