"""Periodic jobs of the messaging engine, run by `manage.py run_scheduler`: (dotted task path, seconds)."""

SCHEDULE = [
    # Due retries (backoff elapsed), scheduled messages whose send_at came, anything an enqueue missed.
    ("messaging.tasks.dispatch_queued", 15),
    # Attempts in flight longer than SMS_IN_FLIGHT_TIMEOUT_SECONDS: a worker died mid-call.
    ("messaging.tasks.reconcile_in_flight", 60),
    # Delivery status of messages sent through providers without callbacks.
    ("messaging.tasks.poll_delivery_status", 60),
    # Confirmed campaigns whose background run was lost (an enqueue after the commit failed, a worker stopped).
    ("messaging.campaigns.services.campaigns_resume", 60),
    # Customer webhook retries with backoff.
    ("messaging.tasks.retry_webhooks", 30),
    # Withdraw the "SMS Fallback Route" notice when the primary is back (new month, circuit closed).
    ("messaging.tasks.refresh_fallback_notice", 300),
    # One-time codes stay readable (encrypted) only until they expire.
    ("messaging.tasks.purge_otp_delivery_bodies", 60),
    # Idempotency-Key answers expire after 24 hours.
    ("messaging.tasks.purge_idempotency_keys", 3600),
    # Uploaded CSV files and bulk-send reports are kept only as long as the customer needs them.
    ("messaging.csv_import.purge_bulk_sends", 3600),
    # Contact CSV files uploaded but never imported (they name people) go after a day.
    ("messaging.contacts.importing.purge_contact_imports", 3600),
]
