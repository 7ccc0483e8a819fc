"""Privacy's panel on the staff landing page (`portal.staff_attention`): requests past their legal deadline and
those due within the week, each linking to the admin list of those requests (the SLA board has the detail)."""

from portal.staff_attention import AttentionItem, AttentionPanel, admin_list_url, ids_lookup
from privacy.requests.models import DataSubjectRequest
from privacy.requests.selectors import BoardFilters, board_rows
from privacy.sla import Band


def privacy_attention() -> AttentionPanel:
    rows = board_rows(filters=BoardFilters())
    overdue = [row.request.pk for row in rows if row.band == Band.OVERDUE]
    at_risk = [row.request.pk for row in rows if row.band == Band.DUE_SOON]
    return AttentionPanel(
        title="Privacy requests",
        items=[
            AttentionItem(
                label="overdue privacy requests",
                count=len(overdue),
                url=admin_list_url(DataSubjectRequest, pk__in=ids_lookup(overdue)),
                level="danger",
                detail="past the legal deadline",
            ),
            AttentionItem(
                label="privacy requests due within 7 days",
                count=len(at_risk),
                url=admin_list_url(DataSubjectRequest, pk__in=ids_lookup(at_risk)),
            ),
        ],
    )
