"""Privacy's Prometheus collector, read from the database when /metrics is scraped.

`privacy_open_requests{kind, band}`: open data subject requests (verified, and any that needs attention) by kind and
SLA band (on track, due soon, overdue), the same rows and bands as the staff board.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from privacy.requests.selectors import BoardFilters, board_rows
from privacy.sla import Band


class PrivacyRequestCollector(Collector):
    def describe(self):
        """The name, without reading the database (registering at start-up must not query)."""
        yield GaugeMetricFamily("privacy_open_requests", "Open requests", labels=["kind", "band"])

    def collect(self):
        family = GaugeMetricFamily(
            "privacy_open_requests", "Open data subject requests by kind and SLA band", labels=["kind", "band"]
        )
        counts = Counter((row.request.kind, row.band) for row in board_rows(filters=BoardFilters()))
        for kind, band in sorted(counts):
            family.add_metric([kind, band], counts[(kind, band)])
        for band in Band.values:  # every band is present, so an alert on "overdue" sees 0, not nothing
            if not any(key[1] == band for key in counts):
                family.add_metric(["", band], 0)
        yield family


_collector = PrivacyRequestCollector()


def register_collectors() -> None:
    """Called from `privacy.receivers.register` (idempotent: ready() may run twice in tests)."""
    if _collector not in REGISTRY._collector_to_names:
        REGISTRY.register(_collector)
