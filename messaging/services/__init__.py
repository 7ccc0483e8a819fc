"""Writes of the messaging engine, split by concern; import from here (`from messaging.services import ...`).

- sending: `message_send`, `message_cancel`, `messages_cancel_queued`, `route_explain`
- dispatch (the worker): `dispatch_queued_messages`, `dispatch_reconcile_stale`, `dispatch_attempt_resolve`
- delivery receipts: `delivery_callback_handle`, `delivery_reports_apply`, `delivery_poll_due`
- notices: `notice_publish`, `notice_withdraw`, `notice_refresh_fallback`
- status webhooks: `webhook_endpoint_set`, `webhook_endpoint_delete`, `webhook_deliver`, `webhook_deliver_due`,
  `webhook_delivery_retry`, `webhook_signature`
- OTP: `otp_send`, `otp_verify`
- providers (staff): `provider_seed_demo_chain`, `provider_test_send`, `provider_circuit_reset`,
  `provider_adapter_build`, `provider_callback_url`
"""

from messaging.services.delivery import delivery_callback_handle, delivery_poll_due, delivery_reports_apply
from messaging.services.dispatch import (
    AttemptDecision,
    dispatch_attempt_resolve,
    dispatch_queued_messages,
    dispatch_reconcile_stale,
)
from messaging.services.idempotency import (
    idempotency_lookup,
    idempotency_purge_expired,
    idempotency_request_hash,
    idempotency_store,
)
from messaging.services.notices import notice_publish, notice_refresh_fallback, notice_withdraw
from messaging.services.otp import otp_send, otp_verify
from messaging.services.providers import (
    provider_adapter_build,
    provider_callback_url,
    provider_circuit_reset,
    provider_seed_demo_chain,
    provider_simulator_connect,
    provider_test_send,
)
from messaging.services.sending import (
    RouteExplanation,
    message_cancel,
    message_send,
    messages_cancel_queued,
    route_explain,
)
from messaging.services.webhooks import (
    webhook_deliver,
    webhook_deliver_due,
    webhook_delivery_retry,
    webhook_endpoint_delete,
    webhook_endpoint_set,
    webhook_signature,
)

__all__ = [
    "AttemptDecision",
    "RouteExplanation",
    "delivery_callback_handle",
    "delivery_poll_due",
    "delivery_reports_apply",
    "dispatch_attempt_resolve",
    "dispatch_queued_messages",
    "dispatch_reconcile_stale",
    "idempotency_lookup",
    "idempotency_purge_expired",
    "idempotency_request_hash",
    "idempotency_store",
    "message_cancel",
    "messages_cancel_queued",
    "message_send",
    "notice_publish",
    "notice_refresh_fallback",
    "notice_withdraw",
    "otp_send",
    "otp_verify",
    "send_otp",
    "verify_otp",
    "provider_adapter_build",
    "provider_callback_url",
    "provider_circuit_reset",
    "provider_seed_demo_chain",
    "provider_simulator_connect",
    "provider_test_send",
    "route_explain",
    "webhook_deliver",
    "webhook_deliver_due",
    "webhook_delivery_retry",
    "webhook_endpoint_delete",
    "webhook_endpoint_set",
    "webhook_signature",
]

# The names issue #4 gives the OTP operations; the house style names services object_verb.
send_otp = otp_send
verify_otp = otp_verify
