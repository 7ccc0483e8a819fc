"""Pages of the data side: export downloads (owner or secret link), the owner's export list, staff usage
analytics."""

from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.services import client_ip
from portal.errors import ApplicationError, NotFound
from privacy.data_models import DataExport
from privacy.fulfilment import export_download
from privacy.objections import usage_analytics_summary


def _download(request, export_id: int, token_or_user):
    try:
        filename, chunks = export_download(
            export_id=export_id,
            token_or_user=token_or_user,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        return render(request, "privacy/data/export_error.html", {"message": exc.message}, status=exc.status)
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def export_download_view(request, export_id: int):
    return _download(request, export_id, request.user)


@require_GET
def export_download_token_view(request, export_id: int, token: str):
    response = _download(request, export_id, token)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL: never pass it on
    return response


@require_GET
@login_required
def export_list_view(request):
    exports = DataExport.objects.filter(user=request.user).order_by("-created_at")[:50]
    return render(request, "privacy/data/export_list.html", {"exports": exports, "now": timezone.now()})


@require_GET
@staff_member_required
def usage_analytics_view(request):
    since = timezone.now() - timedelta(days=30)
    return render(
        request,
        "privacy/data/usage_analytics.html",
        {"summary": usage_analytics_summary(since=since), "since": since},
    )
