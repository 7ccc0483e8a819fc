"""Pages of data subject requests: the privacy centre (signed in), the public request form and its status page,
the contact form, and the staff board.

Views parse input, call a service and render; an ApplicationError becomes a form error: nothing typed is lost.
"""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from accounts.services import client_ip
from portal.errors import ApplicationError, NotFound
from privacy import policy
from privacy.data.objections import processing_choices_for
from privacy.requests import inquiries, intake, phone_proof, selectors, workflow
from privacy.requests.forms import (
    ContactForm,
    PhoneProofForm,
    ProfileForm,
    PublicRequestForm,
    RequesterReplyForm,
    SmsCodeForm,
    UserRequestForm,
)
from privacy.requests.models import RequestChannel, RequestKind, RequestStatus, VerificationMethod
from privacy.sla import Band

PUBLIC_FORM_LIMIT_PER_HOUR = 10


def _rate_limited(request, bucket: str, limit: int = PUBLIC_FORM_LIMIT_PER_HOUR) -> bool:
    key = f"privacy:{bucket}:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) > limit
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=3600)
        return False


def _private(response):
    """Pages reached by a secret link: never cached, and the link never leaves the site in a Referer header.

    `same-origin`, not `no-referrer`: with no referrer at all Chromium sends `Origin: null` on the page's own form
    posts, which Django's CSRF check refuses, so every button on the page would fail.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def _submit_from_form(form, *, user, channel, ip, public: bool):
    data = form.cleaned_data
    return intake.request_submit(
        kind=data["kind"],
        email=data.get("email", "") if public else "",
        channel=channel,
        user=user,
        full_name=data.get("full_name", ""),
        phone_number=data.get("phone_number", ""),
        details=data.get("details", ""),
        requested_changes=form.requested_changes(),
        objections=data.get("objections") or [],
        verification_method=data.get("verification_method") if public else None,
        ip=ip,
    )


# --- privacy centre (signed in) ---


@method_decorator(login_required, name="dispatch")
class PrivacyCentreView(View):
    template_name = "privacy/centre.html"

    def get(self, request, form=None):
        user = request.user
        return render(
            request,
            self.template_name,
            {
                "form": form or UserRequestForm(),
                "requests": selectors.request_list_for_user(user=user),
                "profile_form": ProfileForm(initial={"full_name": user.full_name, "phone_number": user.phone_number}),
                "policy": policy.policy_current(),
                "pending_policy": policy.policy_pending_acknowledgement(user=user),
                "processing_choices": processing_choices_for(user=user),
                "proven_numbers": phone_proof.proven_numbers(user=user),
                "pending_phone": request.session.get(PENDING_PHONE_KEY, ""),
            },
        )

    def post(self, request):
        form = UserRequestForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form)
        try:
            dsr, _token = _submit_from_form(
                form,
                user=request.user,
                channel=RequestChannel.PRIVACY_CENTRE,
                ip=client_ip(request),
                public=False,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.get(request, form=form)
        messages.success(request, f"We received your request {dsr.reference}; an acknowledgement is on its way.")
        return redirect("privacy:my_request", request_id=dsr.pk)


@method_decorator(login_required, name="dispatch")
class MyRequestView(View):
    template_name = "privacy/my_request.html"

    def _get(self, request, request_id):
        try:
            return selectors.request_get_for_user(user=request.user, request_id=request_id)
        except NotFound as exc:
            raise Http404(exc.message)

    def get(self, request, request_id, reply_form=None):
        dsr = self._get(request, request_id)
        return render(
            request,
            self.template_name,
            {
                "dsr": dsr,
                "events": selectors.request_timeline(request=dsr),
                "reply_form": reply_form or RequesterReplyForm(),
                "due_at": _due(dsr),
            },
        )

    def post(self, request, request_id):
        dsr = self._get(request, request_id)
        action = request.POST.get("action")
        try:
            if action == "withdraw":
                intake.request_withdraw(request=dsr, actor=request.user)
                messages.success(request, "Your request was withdrawn.")
            elif action == "reply":
                form = RequesterReplyForm(request.POST)
                if not form.is_valid():
                    return self.get(request, request_id, reply_form=form)
                intake.request_requester_reply(request=dsr, body=form.cleaned_data["body"], actor=request.user)
                messages.success(request, "Thank you; we continue with your request.")
            else:
                raise ApplicationError("Unknown action.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("privacy:my_request", request_id=dsr.pk)


PENDING_PHONE_KEY = "privacy_phone_proof_number"


@method_decorator(login_required, name="dispatch")
class PhoneProofView(View):
    """Prove a mobile number with an SMS code (privacy centre): its messages then reach the person's requests."""

    def post(self, request):
        form = PhoneProofForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the mobile number to prove.")
            return redirect("privacy:centre")
        number = form.cleaned_data["phone_number"]
        try:
            if request.POST.get("action") == "confirm":
                phone_proof.phone_code_confirm(user=request.user, phone_number=number, code=form.cleaned_data["code"])
                request.session.pop(PENDING_PHONE_KEY, None)
                messages.success(request, "Your number is proven: your requests now include the messages sent to it.")
            else:
                if _rate_limited(request, "phone_proof", limit=5):
                    raise ApplicationError("Too many codes sent; try again in an hour.")
                despite_opt_out = phone_proof.phone_code_send(user=request.user, phone_number=number)
                request.session[PENDING_PHONE_KEY] = intake.phone_normalise(number)
                note = (
                    " (this number asked for no SMS; we sent this one code because you asked)"
                    if despite_opt_out
                    else ""
                )
                messages.success(request, f"We sent a code to your number{note}. Enter it below.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("privacy:centre")


@method_decorator(login_required, name="dispatch")
class ProfileView(View):
    """What a user can correct themself, they correct here at once (no request needed)."""

    template_name = "privacy/profile.html"

    def get(self, request, form=None):
        user = request.user
        form = form or ProfileForm(initial={"full_name": user.full_name, "phone_number": user.phone_number})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                intake.profile_update(
                    user=request.user,
                    full_name=form.cleaned_data["full_name"],
                    phone_number=form.cleaned_data["phone_number"],
                )
            except ApplicationError as exc:
                form.add_error("phone_number", exc.message)
            else:
                messages.success(request, "Your details were updated.")
                return redirect("privacy:profile")
        return self.get(request, form=form)


# --- public request form and status page ---


class PublicRequestView(View):
    template_name = "privacy/request_form.html"

    def get(self, request, form=None):
        initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in RequestKind.values else None
        return render(request, self.template_name, {"form": form or PublicRequestForm(initial=initial)})

    def post(self, request):
        form = PublicRequestForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form)
        if _rate_limited(request, "request"):
            form.add_error(None, "Too many requests from your network; try again in an hour or e-mail us.")
            return self.get(request, form=form)
        try:
            dsr, token = _submit_from_form(
                form, user=None, channel=RequestChannel.PUBLIC_FORM, ip=client_ip(request), public=True
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.get(request, form=form)
        if dsr.last_error:
            messages.warning(request, "We could not send an SMS code just now; we e-mailed you a link instead.")
        return redirect("privacy:request_status", token=token)


@method_decorator(never_cache, name="dispatch")
class RequestVerifyEmailView(View):
    """GET only shows a button: mail scanners that open links must not verify a request on someone's
    behalf."""

    template_name = "privacy/request_verify.html"

    def get(self, request, signed):
        return _private(render(request, self.template_name, {"signed": signed}))

    def post(self, request, signed):
        try:
            dsr = intake.request_verify_email(signed=signed)
        except ApplicationError as exc:
            return _private(
                render(request, self.template_name, {"signed": signed, "error": exc.message}, status=exc.status)
            )
        return _private(render(request, self.template_name, {"signed": signed, "verified": dsr}))


@method_decorator(never_cache, name="dispatch")
class RequestStatusView(View):
    template_name = "privacy/request_status.html"

    def _get(self, token):
        try:
            return selectors.request_get_by_status_token(token=token)
        except NotFound as exc:
            raise Http404(exc.message)

    def get(self, request, token, code_form=None, reply_form=None):
        dsr = self._get(token)
        context = {
            "dsr": dsr,
            "token": token,
            "events": selectors.request_timeline(request=dsr),
            "code_form": code_form or SmsCodeForm(),
            "reply_form": reply_form or RequesterReplyForm(),
            "awaiting_code": dsr.status == RequestStatus.SUBMITTED
            and dsr.verification_method == VerificationMethod.SMS,
            "due_at": _due(dsr),
        }
        return _private(render(request, self.template_name, context))

    def post(self, request, token):
        dsr = self._get(token)
        action = request.POST.get("action")
        try:
            if action == "code":
                if _rate_limited(request, "otp", limit=20):
                    raise ApplicationError("Too many attempts; try again in an hour.")
                form = SmsCodeForm(request.POST)
                if not form.is_valid():
                    return self.get(request, token, code_form=form)
                intake.request_verify_sms(request=dsr, code=form.cleaned_data["code"])
                messages.success(request, "Thank you, your request is confirmed.")
            elif action == "resend":
                if _rate_limited(request, "otp_resend", limit=5):
                    raise ApplicationError("Too many codes sent; try again in an hour.")
                intake.request_sms_code_resend(request=dsr)
                messages.success(request, "We sent a new code.")
            elif action == "reply":
                form = RequesterReplyForm(request.POST)
                if not form.is_valid():
                    return self.get(request, token, reply_form=form)
                intake.request_requester_reply(request=dsr, body=form.cleaned_data["body"])
                messages.success(request, "Thank you; we continue with your request.")
            elif action == "withdraw":
                intake.request_withdraw(request=dsr)
                messages.success(request, "Your request was withdrawn.")
            else:
                raise ApplicationError("Unknown action.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return _private(HttpResponseRedirect(reverse("privacy:request_status", kwargs={"token": token})))


def _due(dsr):
    return workflow.live_due_at(dsr)


# --- contact ---


class ContactView(View):
    template_name = "privacy/contact.html"

    def get(self, request, form=None):
        initial = {}
        if request.user.is_authenticated:
            initial = {"full_name": request.user.full_name, "email": request.user.email}
        return render(request, self.template_name, {"form": form or ContactForm(initial=initial)})

    def post(self, request):
        form = ContactForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form)
        if form.cleaned_data.get("website") or _rate_limited(request, "contact"):
            form.add_error(None, "We could not accept this message; please try again later or e-mail us.")
            return self.get(request, form=form)
        data = form.cleaned_data
        try:
            inquiry = inquiries.inquiry_submit(
                full_name=data["full_name"],
                email=data["email"],
                phone_number=data["phone_number"],
                subject=data["subject"],
                message=data["message"],
                is_privacy=data["is_privacy"],
                user=request.user if request.user.is_authenticated else None,
                ip=client_ip(request),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.get(request, form=form)
        return render(request, "privacy/contact_thanks.html", {"inquiry": inquiry})


# --- staff board ---


@method_decorator(staff_member_required, name="dispatch")
class StaffBoardView(View):
    template_name = "privacy/staff_board.html"

    def get(self, request):
        filters = selectors.BoardFilters(
            kind=request.GET.get("kind", "") if request.GET.get("kind") in RequestKind.values else "",
            status=request.GET.get("status", "") if request.GET.get("status") in RequestStatus.values else "",
            band=request.GET.get("band", "") if request.GET.get("band") in Band.values else "",
            assignee=request.GET.get("assignee", ""),
            show_unverified=request.GET.get("unverified") == "1",
            show_duplicates=request.GET.get("duplicates") == "1",
        )
        metrics = selectors.board_metrics()
        chart = {
            "labels": [m.month for m in metrics["per_month"]],
            "received": [m.received for m in metrics["per_month"]],
            "completed": [m.completed for m in metrics["per_month"]],
            "on_time": [m.on_time for m in metrics["per_month"]],
        }
        return render(
            request,
            self.template_name,
            {
                "rows": selectors.board_rows(filters=filters),
                "inquiries": inquiries.inquiry_board(),
                "filters": filters,
                "kinds": RequestKind.choices,
                "statuses": [(s, label) for s, label in RequestStatus.choices if s in workflow.TRANSITIONS],
                "bands": Band.choices,
                "assignees": list(selectors.staff_assignees()),
                "metrics": metrics,
                "chart": chart,
            },
        )
