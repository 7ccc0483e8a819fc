"""Writes of the messaging engine, one module per concern; callers import the module that owns the function:

- `sending`: `message_send`, `message_cancel`, `messages_cancel_queued`, `route_explain`
- `status`: `status_set`, `message_finalize` (a message ends undelivered: status, timestamps, refund once)
- `delivery`: `delivery_callback_handle`, `delivery_reports_apply`, `delivery_poll_due`
- `notices`: `notice_publish`, `notice_withdraw`, `notice_refresh_fallback`
- `webhooks`: `webhook_endpoint_set`, `webhook_endpoint_delete`, `webhook_deliver`, `webhook_deliver_due`,
  `webhook_delivery_retry`, `webhook_signature`
- `otp`: `otp_send`, `otp_verify`
- `idempotency`: `idempotency_lookup`, `idempotency_store`, `idempotency_purge_expired`
- `providers` (staff): `provider_seed_demo_chain`, `provider_test_send`, `provider_circuit_reset`,
  `provider_callback_url` (an adapter for a route: `messaging.providers.registry.provider_adapter_build`)
- `outbound`: HTTP to customer URLs, safe against server-side request forgery

The dispatcher (the worker, crash recovery) is the `messaging.dispatch` package.
"""
