"""The privacy policy pages: the current version (with the retention table), earlier versions, and the
acknowledgement of a material change."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.services import client_ip
from portal.errors import NotFound
from privacy.data.retention import retention_rules_public
from privacy.policy import policy_acknowledge, policy_current, policy_get_published, policy_list_published
from privacy.policy_markdown import render_policy_markdown


def policy_view(request, version: int | None = None):
    if version is None:
        policy = policy_current()
        if policy is None:
            raise Http404("No privacy policy is published yet.")
    else:
        try:
            policy = policy_get_published(version=version)
        except NotFound as exc:
            raise Http404(exc.message)
    return render(
        request,
        "privacy/policy.html",
        {
            "policy": policy,
            "policy_html": render_policy_markdown(policy.body_markdown),
            "versions": policy_list_published(),
            "is_current": version is None,
            "retention_rules": retention_rules_public(),
        },
    )


@login_required
def policy_acknowledge_view(request, version: int):
    if request.method != "POST":
        return redirect("privacy:policy_version", version=version)
    try:
        policy = policy_get_published(version=version)
    except NotFound as exc:
        raise Http404(exc.message)
    policy_acknowledge(user=request.user, policy_version=policy, ip=client_ip(request))
    messages.success(request, "Thank you for reading the updated Privacy Policy.")
    target = request.POST.get("next") or reverse("privacy:centre")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("privacy:centre")
    return redirect(target)
