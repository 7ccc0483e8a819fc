"""The pages people get when a request fails outside the API (the API answers its JSON error shape, `portal.api`).

A database that does not answer (a restart, a failover) is not a bug of the page: the person gets 503 with
`Retry-After` and a page that says to try again in a moment, instead of "Server Error (500)". The page is rendered
without the request's context processors, which would ask the database again."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from portal.api import DATABASE_RETRY_AFTER_SECONDS


@requires_csrf_token
def server_error(request) -> HttpResponse:
    """`handler500`: Django calls it while it handles the exception, so the exception is the one being handled."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        page = loader.get_template("errors/503.html").render({"retry_after": DATABASE_RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return HttpResponseServerError(loader.get_template("errors/500.html").render({}))
