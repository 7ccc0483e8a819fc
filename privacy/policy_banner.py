"""The banner of a material policy change on every signed-in page: the newest material change published after the
person joined that they have not acknowledged (`privacy.policy.policy_pending_acknowledgement`, the same answer).

Every page asks and the answer is nearly always "none": the published material versions (a handful over the
site's life) are cached for `POLICY_BANNER_CACHE_SECONDS`, dropped on each save or delete of a policy version in
this process (publishing and admin edits save it) and at most that old in the others (a shared cache such as Redis
is dropped at once). A person who joined after every one of them costs no query; otherwise which of them they
acknowledged is read fresh, so acknowledging removes the banner at once. With nothing cached, one query answers
(and fills the cache).
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Exists, OuterRef

from accounts.models import User
from portal.cache_keys import drop_on_change
from privacy.models import PolicyAcknowledgement, PolicyVersion

POLICY_BANNER_CACHE_SECONDS = 5
_MATERIAL_KEY = "privacy:material-policies:v1"


def _material_published():
    # The banner shows the version, its date and its summary; the policy's text is not needed.
    return (
        PolicyVersion.objects.filter(published_at__isnull=False, material_change=True)
        .defer("body_markdown")
        .order_by("-version")
    )


def policy_banner_pending(*, user: User | None) -> PolicyVersion | None:
    """The material change this person has yet to acknowledge, newest first; None when there is none."""
    if not getattr(user, "is_authenticated", False):
        return None
    material = cache.get(_MATERIAL_KEY)
    if material is None:
        rows = list(
            _material_published().annotate(
                acknowledged=Exists(PolicyAcknowledgement.objects.filter(user=user, policy_version=OuterRef("pk")))
            )
        )
        acknowledged = {row.pk for row in rows if row.__dict__.pop("acknowledged")}  # this person's: not cached
        cache.set(_MATERIAL_KEY, rows, POLICY_BANNER_CACHE_SECONDS)
        candidates = [row for row in rows if row.published_at > user.date_joined]
    else:
        candidates = [row for row in material if row.published_at > user.date_joined]
        if not candidates:
            return None
        acknowledged = set(
            PolicyAcknowledgement.objects.filter(
                user=user, policy_version_id__in=[row.pk for row in candidates]
            ).values_list("policy_version_id", flat=True)
        )
    return next((row for row in candidates if row.pk not in acknowledged), None)


def policy_banner_cache_connect() -> None:
    """Drop the cached versions when one changes; called once from `privacy.receivers.register` (idempotent)."""
    drop_on_change(model=PolicyVersion, key=_MATERIAL_KEY, uid="privacy.policies_changed")
