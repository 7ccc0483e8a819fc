"""The workflow of a data subject request: which status may follow which, and what every change records.

Every state change goes through `transition`, which checks `TRANSITIONS`, keeps the SLA inputs (pauses) and the
derived due date right, and writes a `RequestEvent` and an audit row. Actions that keep the status (assign,
extend, evidence) write their `RequestEvent` through `event_record`.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.services import audit_log_record
from portal.errors import ApplicationError, Conflict
from privacy import sla
from privacy.requests.models import CLOSED_STATUSES, ActorLabel, DataSubjectRequest, RequestEvent, RequestStatus

TRANSITIONS: dict[str, set[str]] = {
    RequestStatus.SUBMITTED: {
        RequestStatus.VERIFIED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
        RequestStatus.EXPIRED,
    },
    RequestStatus.VERIFIED: {
        RequestStatus.IN_PROGRESS,
        RequestStatus.AWAITING_REQUESTER,
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
    },
    RequestStatus.IN_PROGRESS: {
        RequestStatus.AWAITING_REQUESTER,
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
    },
    RequestStatus.AWAITING_REQUESTER: {
        RequestStatus.IN_PROGRESS,
        RequestStatus.REJECTED,
        RequestStatus.WITHDRAWN,
    },
}


class InvalidTransition(Conflict):
    code = "invalid_transition"


def is_staff_actor(actor) -> bool:
    return actor is not None and getattr(actor, "is_staff", False)


def require_staff(actor) -> None:
    if not is_staff_actor(actor):
        raise ApplicationError("Only privacy staff can do this.", code="permission_denied", status=403)


def request_lock(request: DataSubjectRequest) -> DataSubjectRequest:
    # Lock the request row only: PostgreSQL refuses FOR UPDATE on the nullable side of the joins.
    return (
        DataSubjectRequest.objects.select_for_update(of=("self",)).select_related("user", "assignee").get(pk=request.pk)
    )


# --- SLA bookkeeping ---


def due_refresh(request: DataSubjectRequest) -> None:
    request.due_at = sla.due_at_compute(
        rule=request.sla_rule,
        # After proof of identity arrived the deadline counts from that day, not from receipt.
        received_at=request.clock_started_at or request.received_at,
        paused=request.paused_total,
        extended=request.extended,
    )


def live_due_at(request: DataSubjectRequest, *, now: datetime | None = None) -> datetime:
    """The deadline as it stands now. While we wait for proof of identity it is the one the request would get if
    the proof arrived now (the clock starts again then); while we wait for any other answer, it moves with the
    pause."""
    now = now or timezone.now()
    if request.awaiting_identity and request.paused_since is not None:
        return sla.due_at_compute(rule=request.sla_rule, received_at=now, extended=request.extended)
    return sla.current_due_at(due_at=request.due_at, paused_since=request.paused_since, now=now)


def event_record(request, *, action, actor=None, actor_label="", from_status="", to_status="", note="") -> RequestEvent:
    if not actor_label:
        actor_label = (
            ActorLabel.STAFF if is_staff_actor(actor) else (ActorLabel.USER if actor is not None else ActorLabel.SYSTEM)
        )
    return RequestEvent.objects.create(
        request=request,
        action=action,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=actor_label,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )


def transition(
    request: DataSubjectRequest,
    *,
    to: str,
    actor=None,
    actor_label: str = "",
    note: str = "",
    action: str = "",
) -> DataSubjectRequest:
    previous = request.status
    if to not in TRANSITIONS.get(previous, set()):
        raise InvalidTransition(
            f"Request {request.reference} is {request.get_status_display().lower()}; it cannot become "
            f"{RequestStatus(to).label.lower()}."
        )
    now = timezone.now()
    restarted = False
    if previous == RequestStatus.AWAITING_REQUESTER and request.paused_since is not None:
        if request.awaiting_identity:
            # Proof of identity arrived (or staff resumed without it): the clock starts again from zero today.
            restarted = to not in CLOSED_STATUSES
            request.clock_started_at = now if restarted else request.clock_started_at
            request.paused_total = timedelta(0) if restarted else request.paused_total
            request.awaiting_identity = False
        else:
            request.paused_total += max(now - request.paused_since, timedelta(0))
        request.paused_since = None
    if to == RequestStatus.AWAITING_REQUESTER:
        request.paused_since = now
    if to in CLOSED_STATUSES:
        request.closed_at = now
    request.status = to
    due_refresh(request)
    request.save()
    event_record(
        request,
        action=action or to,
        actor=actor,
        actor_label=actor_label,
        from_status=previous,
        to_status=to,
        note=note,
    )
    if restarted:
        event_record(
            request,
            action="clock_restarted",
            actor_label=ActorLabel.SYSTEM,
            note=f"Proof of identity received; now due by {sla.due_label(request.due_at)}",
        )
    audit_log_record(
        event_type=f"privacy.request.{action or to}",
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        target=request,
        extra={"from": previous, "to": to},
    )
    return request
