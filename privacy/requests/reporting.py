"""How a fulfilment step tells its request how it stands: `fulfilment_report`, the one typed entry point.

The data side reports its background steps (export, erasure) as they run; staff actions report the steps they
finish at once (objections, corrections). A failure shows on the board and alerts staff once; the last success
completes the request. A repeated report changes nothing and alerts nobody twice.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone

from accounts.models import User
from portal.errors import ApplicationError, NotFound
from privacy.requests.correspondence import admin_change_url, message_queue, staff_alert_recipients
from privacy.requests.models import (
    ActorLabel,
    DataSubjectRequest,
    FulfilmentStep,
    FulfilmentStepKind,
    RequestKind,
    RequestStatus,
    StepStatus,
)
from privacy.requests.staff import request_complete
from privacy.requests.workflow import event_record

# The closing note of a request that completes by itself when its last background step succeeds.
COMPLETION_NOTES = {
    RequestKind.ACCESS: "Your copy of your personal data is ready; the download link was sent separately.",
    RequestKind.DELETE: (
        "Your personal data was erased. Records the law requires us to keep (billing) were stripped of "
        "everything else and will be deleted when the retention period ends."
    ),
}


def step_start(request: DataSubjectRequest, step: FulfilmentStepKind) -> FulfilmentStep:
    """Staff start (or re-run) a background step: it runs again, with one more attempt and no error."""
    row, created = FulfilmentStep.objects.get_or_create(request=request, step=step.value)
    if not created:
        row.status = StepStatus.RUNNING
        row.error = ""
        row.attempts += 1
        row.updated_at = timezone.now()
        row.save(update_fields=["status", "error", "attempts", "updated_at"])
    return row


def _checked(choices: type[TextChoices], value: str, *, what: str, code: str) -> TextChoices:
    """A typed caller cannot pass anything else; an untyped one (a shell, a test) gets a clear refusal."""
    try:
        return choices(value)
    except ValueError:
        raise ApplicationError(f"Unknown {what} {value!r}; use {', '.join(choices.values)}.", code=code)


@transaction.atomic
def fulfilment_report(
    *,
    request_id: int,
    step: FulfilmentStepKind,
    status: StepStatus,
    error: str = "",
    actor: User | None = None,
    note: str = "",
    deliver_to: str = "",
) -> None:
    """Record how `step` of a request stands. A failure alerts staff; the last success completes the request.

    A background step reports without `actor`: the request then completes as the system, with its `note` (or the
    kind's usual one). A step that staff finished reports with them as `actor` and the `note` the requester is sent.
    `deliver_to`: where to tell the requester when the request's own contact details were already erased.
    """
    step = _checked(FulfilmentStepKind, step, what="step", code="invalid_step")
    step_status = _checked(StepStatus, status, what="step status", code="invalid_status")
    request = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No privacy request {request_id}.")
    now = timezone.now()
    row, created = FulfilmentStep.objects.get_or_create(
        request=request, step=step.value, defaults={"status": step_status, "error": error, "updated_at": now}
    )
    if not created:
        if row.status == step_status and row.error == error:
            return  # a repeated report changes nothing and alerts nobody twice
        if step_status == StepStatus.RUNNING and row.status == StepStatus.FAILED:
            row.attempts += 1
        row.status = step_status
        row.error = error if step_status == StepStatus.FAILED else ""
        row.progress = ""
        row.next_attempt_at = None
        row.updated_at = now
        row.save(update_fields=["status", "error", "progress", "next_attempt_at", "attempts", "updated_at"])
    event_record(
        request,
        action=f"step_{step_status.value}",
        actor=actor,
        actor_label="" if actor is not None else ActorLabel.SYSTEM,
        note=f"{step.value}: {error}" if error else step.value,
    )
    if step_status == StepStatus.FAILED:
        request.needs_attention = True
        request.last_error = f"{step.value}: {error}"[:2000]
        request.save(update_fields=["needs_attention", "last_error", "updated_at"])
        message_queue(
            request,
            kind="staff_alert",
            subject=f"Privacy request step failed: {step.value}",
            body=(
                f"The {step.value} step of {request.reference} ({request.kind}, {request.status}) "
                f"failed:\n\n{error}\n\n"
                f"Re-run it from admin: {settings.SITE_URL}"
                f"{admin_change_url(request)}\n"
            ),
            recipients=staff_alert_recipients(),
        )
        return
    if request.needs_attention and not request.steps.filter(status=StepStatus.FAILED).exists():
        request.needs_attention = False
        request.last_error = ""
        request.save(update_fields=["needs_attention", "last_error", "updated_at"])
    all_done = not request.steps.exclude(status=StepStatus.SUCCEEDED).exists()
    if step_status == StepStatus.SUCCEEDED and all_done and request.status == RequestStatus.IN_PROGRESS:
        request_complete(
            request=request,
            actor=actor,
            actor_label="" if actor is not None else ActorLabel.SYSTEM,
            note=note or COMPLETION_NOTES.get(request.kind, ""),
            deliver_to=deliver_to,
        )


@transaction.atomic
def fulfilment_progress(*, request_id: int, step: FulfilmentStepKind, progress: str, next_attempt_at) -> None:
    """A running step retries by itself: show what is failing and when it tries again (board, admin)."""
    step = _checked(FulfilmentStepKind, step, what="step", code="invalid_step")
    updated = FulfilmentStep.objects.filter(request_id=request_id, step=step.value, status=StepStatus.RUNNING).update(
        progress=progress[:2000], next_attempt_at=next_attempt_at, updated_at=timezone.now()
    )
    if updated:
        request = DataSubjectRequest.objects.get(pk=request_id)
        event_record(
            request, action="step_retrying", actor_label=ActorLabel.SYSTEM, note=f"{step.value}: {progress}"[:2000]
        )
