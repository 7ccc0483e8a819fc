"""/healthz (the process answers), /readyz (what serving needs is there) and /metrics (Prometheus, restricted)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from portal.monitoring.access import metrics_allowed
from portal.monitoring.readiness import readiness_findings


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Alive: no database, no cache, nothing that could be down while the process is fine."""
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when every finding is ok; 503 naming the ones that are not (`not_ready`), with every check's detail."""
    findings = readiness_findings()
    not_ready = [name for name, ok, _ in findings if not ok]
    body = {
        "status": "not_ready" if not_ready else "ready",
        "not_ready": not_ready,
        "checks": {name: {"ok": ok, "detail": detail} for name, ok, detail in findings},
    }
    response = JsonResponse(body, status=503 if not_ready else 200)
    add_never_cache_headers(response)
    return response


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition for a scraper holding METRICS_TOKEN or calling from METRICS_ALLOWED_IPS; 403 otherwise."""
    if not metrics_allowed(request):
        return JsonResponse(
            {
                "error": {
                    "code": "forbidden",
                    "message": "Metrics need the metrics token or an allowed address.",
                    "details": {},
                }
            },
            status=403,
        )
    response = ExportToDjangoView(request)
    add_never_cache_headers(response)
    return response
