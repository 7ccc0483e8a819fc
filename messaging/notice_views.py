"""Dismissing a site notice (the cross above it): for this person across sign-ins, until a new notice replaces it."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from messaging.services.notices import notice_dismiss
from portal.errors import NotFound


@login_required
@require_POST
def notice_dismiss_view(request, notice_id: int):
    if notice_id <= 0:
        return HttpResponseBadRequest("notice id")
    try:
        notice_dismiss(user=request.user, notice_id=notice_id)
    except NotFound:
        raise Http404("No such notice.")
    if request.headers.get("HX-Request"):
        return HttpResponse("")  # htmx removes the notice in place
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "dashboard"
    return redirect(back)
