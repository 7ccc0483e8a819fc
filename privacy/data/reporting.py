"""How an export or an erasure tells the request it fulfils how it stands.

The step's own state is the truth: a report the request workflow cannot take (a locked or changed request, a
database error) is logged and audited for staff, and never stops the export or the erasure.
"""

import logging

from accounts.services import audit_log_record
from privacy.data.models import DataExport, ErasureJob
from privacy.requests.models import FulfilmentStepKind, StepStatus
from privacy.requests.reporting import fulfilment_progress, fulfilment_report

logger = logging.getLogger(__name__)


def report_to_request(
    source: DataExport | ErasureJob,
    *,
    step: FulfilmentStepKind,
    status: StepStatus,
    error: str = "",
    note: str = "",
    deliver_to: str = "",
) -> None:
    """Report `source`'s progress through `fulfilment_report`; nothing when it fulfils no request.

    `note` is what the person is told when this completes the request; `deliver_to` the address to tell them at
    when the request's own copy was erased."""
    if source.request_id is None:
        return
    try:
        fulfilment_report(
            request_id=source.request_id, step=step, status=status, error=error, note=note, deliver_to=deliver_to
        )
    except Exception as exc:  # the step's own state is the truth; a reporting problem is logged for staff
        logger.exception("%s: could not report %s to request %s", source, status, source.request_id)
        audit_log_record(
            event_type="privacy.fulfilment_report_failed",
            target=source,
            extra={
                "request": source.request_id,
                "status": status,
                "error": f"{type(exc).__name__}: {exc}"[:500],
            },
        )


def report_progress(
    source: DataExport | ErasureJob, *, step: FulfilmentStepKind, progress: str, next_attempt_at
) -> None:
    """While a step retries by itself: what is failing and when it tries again, shown on the request."""
    if source.request_id is None:
        return
    try:
        fulfilment_progress(request_id=source.request_id, step=step, progress=progress, next_attempt_at=next_attempt_at)
    except Exception:  # the step's own state is the truth; showing it on the request is best effort
        logger.exception("%s: could not show progress on request %s", source, source.request_id)
