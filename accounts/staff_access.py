"""Staff sign in like everyone else (allauth: its rate limits, its second-factor step) and use a second factor.

Admin's own login and logout pages are routed here (portal/urls.py), so Django's password-only admin login, which
has no rate limit and no second factor, is never reached. `StaffMultiFactorMiddleware` (accounts.middleware) asks
`staff_area_redirect` before every view: a staff account opening a staff area (the admin site, or any page whose
route has a `staff/` segment, e.g. /privacy/staff/board/) without an authenticator is sent to set one up; one that
has an authenticator but signed this session in without it is asked for a code first.
"""

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

ADMIN_NAMESPACE = "admin"
STAFF_ROUTE_SEGMENT = "staff"


def is_staff_area(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    return ADMIN_NAMESPACE in match.namespaces or STAFF_ROUTE_SEGMENT in str(match.route).split("/")


def has_authenticator(user) -> bool:
    return is_mfa_enabled(user, types=[Authenticator.Type.TOTP])


def session_used_second_factor(request: HttpRequest) -> bool:
    """True when this session's sign-in (or a later re-authentication) included an authenticator code."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


def staff_area_redirect(request: HttpRequest) -> HttpResponse | None:
    """Where a staff account must go before a staff area, or None when it may go on."""
    user = request.user
    if not (settings.STAFF_MFA_REQUIRED and user.is_authenticated and user.is_staff and is_staff_area(request)):
        return None
    if not has_authenticator(user):
        messages.warning(
            request,
            "Staff accounts need two-factor authentication. Set up an authenticator app below; then open the staff "
            "pages again and enter its code.",
        )
        return redirect("mfa_activate_totp")
    if not session_used_second_factor(request):
        messages.info(request, "Staff pages need your authenticator code: enter it to continue.")
        return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")
    return None


def _safe_next(request: HttpRequest) -> str | None:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def admin_login(request: HttpRequest) -> HttpResponse:
    """/admin/login/: the site's sign-in form (allauth), keeping `next`; nothing is signed in here."""
    if request.user.is_authenticated:
        if not request.user.is_staff:
            # allauth would send a signed-in person straight back to `next` (admin), and admin back here.
            raise PermissionDenied("This account has no access to the staff pages.")
        return redirect(_safe_next(request) or reverse("admin:index"))
    query = request.GET.urlencode()
    return redirect(f"{reverse('account_login')}?{query}" if query else reverse("account_login"))


def admin_logout(request: HttpRequest) -> HttpResponse:
    """/admin/logout/: the site's sign-out page (allauth), which signs out on its confirmation POST."""
    return redirect("account_logout")


def admin_password_change(request: HttpRequest) -> HttpResponse:
    """/admin/password_change/: the site's password page (allauth), which re-authenticates and rate-limits."""
    return redirect("account_change_password")
