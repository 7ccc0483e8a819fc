"""Reads for privacy."""

# Processing code everywhere asks these before it acts (owned by privacy/objections.py; keep this re-export).
from privacy.objections import recipient_is_suppressed, suppressed_numbers, user_allows  # noqa: F401
