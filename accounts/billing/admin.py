"""Admin for billing (filled in below by the billing work)."""
