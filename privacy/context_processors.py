"""`policy_banner`: the material policy change the signed-in user has not acknowledged yet (None otherwise).

The value is a callable (templates call it when they resolve the variable) that queries once per request, so
a page that does not include `privacy/_policy_banner.html` pays no query at all.
"""

from privacy.policy import policy_pending_acknowledgement


def policy_banner(request):
    found: dict = {}

    def pending():
        if "policy" not in found:
            found["policy"] = policy_pending_acknowledgement(user=getattr(request, "user", None))
        return found["policy"]

    return {"privacy_policy_pending": pending}
