"""What staff see at a glance in admin, contributed by each app.

The admin site lives in portal and accounts' admin may not import the apps above it, so each app registers its
answers here from its `AppConfig.ready()`:

- `staff_attention`: the panels of the staff landing page (the admin index), called in layer order, each finding
  with a link to the admin list that holds the rows.
- `organization_facts`: lines on an organization's admin page (balance, this month's usage, links to its messages
  and payments).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.http import urlencode

from portal.hooks import Hook

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttentionItem:
    """One finding: "3 privacy requests overdue", the admin list that shows them, how urgent it is."""

    label: str
    count: int
    url: str
    level: str = "warning"  # "danger" (act now) or "warning" (soon)
    detail: str = ""


@dataclass(frozen=True)
class AttentionPanel:
    title: str
    items: list[AttentionItem] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return any(item.count for item in self.items)


staff_attention = Hook(
    "staff_attention",
    "answer() -> AttentionPanel: what of the app needs staff now (counts, each with an admin list URL); an item "
    "with a count of 0 is shown as all clear",
)


@dataclass(frozen=True)
class OrganizationFact:
    """One line of an organization's admin page: "Balance: 120.00 credits", with a link when there is a list."""

    label: str
    value: str
    url: str = ""


organization_facts = Hook(
    "organization_facts",
    "answer(*, organization_id: int) -> list[OrganizationFact]: what the app knows of one organization, for its "
    "admin page",
)


def facts_for_organization(*, organization_id: int) -> list[OrganizationFact]:
    return [fact for answer in organization_facts.answers() for fact in answer(organization_id=organization_id)]


def admin_list_url(model, **query) -> str:
    """The admin list of `model`, filtered by `query` (field lookups such as status__exact=failed or pk__in=1,2)."""
    base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{base}?{urlencode(query)}" if query else base


def ids_lookup(ids) -> str:
    """A pk__in value; an empty list selects nothing (pk 0 does not exist) rather than everything."""
    return ",".join(str(pk) for pk in ids) or "0"


def register_panel(answer: Callable[[], AttentionPanel]) -> Callable[[], AttentionPanel]:
    return staff_attention.register(answer)


def attention_panels() -> list[AttentionPanel]:
    """Every registered panel; one that fails is shown as unavailable instead of taking the landing page down."""
    panels = []
    for answer in staff_attention.answers():
        try:
            panels.append(answer())
        except Exception:
            name = f"{answer.__module__}.{answer.__qualname__}"
            logger.exception("staff attention panel %s failed", name)
            panels.append(AttentionPanel(title=f"Could not be read: {name}", items=[]))
    return panels
