"""Pages of the data side: export downloads (owner or secret link), the owner's export list, the processing
switches of the privacy centre, and staff usage analytics."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.http import require_GET

from accounts.services import client_ip
from portal.errors import ApplicationError, NotFound
from privacy.data.export import export_download
from privacy.data.models import DataExport, ProcessingKind
from privacy.data.objections import processing_objection_add, processing_objection_withdraw
from privacy.data.usage_analytics import usage_analytics_summary


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


@method_decorator(login_required, name="dispatch")
class ProcessingChoiceView(View):
    """Object to an optional processing, or withdraw the objection, at once: no request and no staff needed."""

    def post(self, request):
        processing = request.POST.get("processing", "")
        allow = request.POST.get("allow") == "1"
        try:
            if allow:
                processing_objection_withdraw(user=request.user, processing=processing, actor=request.user)
            else:
                processing_objection_add(user=request.user, processing=processing, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            label = ProcessingKind(processing).label
            messages.success(request, f"{label}: {'allowed' if allow else 'stopped'}.")
        return redirect("privacy:centre")
