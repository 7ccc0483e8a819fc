"""Messaging's Prometheus collectors, read from the database when /metrics is scraped.

Reading on scrape instead of counting in the dispatch code keeps every number right whichever process (web, any
worker) did the work, with no multiprocess bookkeeping:

- `sms_messages{status, provider}`: messages by status and by the provider that took them ("" while unrouted).
- `sms_queue_depth`, `sms_queue_oldest_age_seconds`: messages due to be dispatched.
- `sms_provider_circuit_open{provider, state}`: 1 for the state each provider's circuit is in.
- `sms_dispatch_latency_seconds`: a histogram of provider calls (attempt start to its recorded outcome), over every
  finished attempt still kept.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from messaging.health import queue_depth_and_oldest
from messaging.models import CircuitState, DispatchAttempt, Message, Provider

DISPATCH_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class MessagingCollector(Collector):
    def describe(self):
        """The names, without reading the database (registering at start-up must not query)."""
        yield GaugeMetricFamily("sms_messages", "Messages by status and provider", labels=["status", "provider"])
        yield GaugeMetricFamily("sms_queue_depth", "Messages due to be dispatched")
        yield GaugeMetricFamily("sms_queue_oldest_age_seconds", "Seconds the oldest due message has waited")
        yield GaugeMetricFamily("sms_provider_circuit_state", "Circuit state", labels=["provider", "state"])
        yield HistogramMetricFamily("sms_dispatch_latency_seconds", "Provider call time")

    def collect(self):
        yield self._messages()
        now = timezone.now()
        depth, oldest = queue_depth_and_oldest(now=now)
        yield GaugeMetricFamily("sms_queue_depth", "Messages due to be dispatched", value=depth)
        age = (now - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "sms_queue_oldest_age_seconds", "Seconds the oldest due message has waited", value=max(age, 0.0)
        )
        yield self._circuits()
        yield self._dispatch_latency()

    def _messages(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("sms_messages", "Messages by status and provider", labels=["status", "provider"])
        # Every organization's messages: the scrape counts the whole site.
        rows = Message.objects.unscoped().values("status", "provider__name").annotate(total=Count("id"))
        for row in rows.order_by():
            family.add_metric([row["status"], row["provider__name"] or ""], row["total"])
        return family

    def _circuits(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "sms_provider_circuit_state", "1 for the circuit state each provider is in", labels=["provider", "state"]
        )
        for name, state in Provider.objects.values_list("name", "circuit_state"):
            for choice in CircuitState.values:
                family.add_metric([name, choice], 1.0 if state == choice else 0.0)
        return family

    def _dispatch_latency(self) -> HistogramMetricFamily:
        duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        finished = DispatchAttempt.objects.filter(finished_at__isnull=False).annotate(duration=duration)
        buckets = {
            f"le_{index}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
            for index, bound in enumerate(DISPATCH_LATENCY_BUCKETS)
        }
        summary = finished.aggregate(total=Count("id"), time_spent=Sum("duration"), **buckets)
        seconds = summary["time_spent"].total_seconds() if summary["time_spent"] else 0.0
        cumulative = [(str(bound), summary[f"le_{i}"]) for i, bound in enumerate(DISPATCH_LATENCY_BUCKETS)]
        cumulative.append(("+Inf", summary["total"]))
        return HistogramMetricFamily(
            "sms_dispatch_latency_seconds",
            "Provider call time, from the attempt's start to its recorded outcome",
            buckets=cumulative,
            sum_value=seconds,
        )


_collector = MessagingCollector()


def register_collectors() -> None:
    """Called from `messaging.receivers.register` (idempotent: ready() may run twice in tests)."""
    if _collector not in REGISTRY._collector_to_names:
        REGISTRY.register(_collector)
