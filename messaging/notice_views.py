"""Dismissing a site notice (the cross above it): for this person, until a new notice replaces it."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from messaging.services.notices import notice_dismiss


@login_required
@require_POST
def notice_dismiss_view(request, notice_id: int):
    if notice_id <= 0:
        return HttpResponseBadRequest("notice id")
    notice_dismiss(session=request.session, notice_id=notice_id)
    if request.headers.get("HX-Request"):
        return HttpResponse("")  # htmx removes the notice in place
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "dashboard"
    return redirect(back)
