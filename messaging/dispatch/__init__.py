"""The dispatcher: claim queued messages, route them, hand them to providers, record what happened.

One round of `worker.dispatch_queued_messages` has three steps, each with its own transaction boundary:

1. **Claim** (`claim`, one transaction): lock due queued rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
   workers never share a row; as many as one call of the largest bulk route takes), choose a route for each
   message (`route_batch`, on the rules of `messaging.routing`) on a snapshot of the provider chain, write one
   `DispatchAttempt` per message with status `in_flight` and the routing decision, set the messages to
   `sending`, then lock the provider and this month's usage rows, check the snapshot still holds (else route
   again on the locked rows), reserve quota (`quota`), and COMMIT. From here a crash cannot lose the fact that
   a message may be at a provider.
2. **Call** (`provider_call`, no transaction, no locks held): one adapter per provider; bulk where the adapter
   supports it, else several calls at once (threads).
3. **Record** (`outcome`, one transaction per provider group): accepted -> `sent`; refused -> `rejected` and
   refunded; "limit reached" or an answer final for the route -> next provider at once; transient -> backoff with
   jitter (`timing`) and routed again (the same provider once its circuit is closed, the next one meanwhile),
   failed and refunded past the deadline. The circuit breaker (`circuit_breaker`) counts the answers; the
   provider and usage rows are written last. On PostgreSQL the batch-wide writes are single statements
   (`bulk_sql`).

Crash recovery and the staff decision for unknown outcomes: `reconcile`. Messages that end undelivered are
refunded through `messaging.services.status.message_finalize`.
"""
