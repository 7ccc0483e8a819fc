"""Probes and metrics for the machines that watch the site: /healthz, /readyz and /metrics."""
