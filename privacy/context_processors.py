"""`policy_banner`: the material policy change the signed-in user has not acknowledged yet (None otherwise).

The value is a callable (templates call it when they resolve the variable) that asks once per request, so a page
that does not include `privacy/_policy_banner.html` pays nothing; the answer itself is mostly read from a cache of
a few seconds (`privacy.policy_banner`).
"""

from privacy.policy_banner import policy_banner_pending


def policy_banner(request):
    found: dict = {}

    def pending():
        if "policy" not in found:
            found["policy"] = policy_banner_pending(user=getattr(request, "user", None))
        return found["policy"]

    return {"privacy_policy_pending": pending}
