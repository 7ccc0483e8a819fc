"""Reads of data subject requests: a person's own requests, the staff board and its monthly figures."""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from portal.errors import NotFound
from portal.timezone import operator_tz
from privacy import sla
from privacy.requests.correspondence import status_token_hash
from privacy.requests.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    FulfilmentStep,
    FulfilmentStepKind,
    RequestStatus,
    StepStatus,
)
from privacy.requests.workflow import live_due_at

# --- a person's own requests ---


def request_list_for_user(*, user: User) -> QuerySet[DataSubjectRequest]:
    return DataSubjectRequest.objects.filter(user=user).order_by("-received_at")


def request_get_for_user(*, user: User, request_id: int) -> DataSubjectRequest:
    """Another person's request is indistinguishable from a missing one (404)."""
    request = DataSubjectRequest.objects.filter(user=user, pk=request_id).first()
    if request is None:
        raise NotFound("No such privacy request.")
    return request


def request_get_by_status_token(*, token: str) -> DataSubjectRequest:
    request = DataSubjectRequest.objects.filter(status_token_hash=status_token_hash(token or "")).first()
    if request is None:
        raise NotFound("This status link is not valid.")
    return request


def request_timeline(*, request: DataSubjectRequest):
    return request.events.select_related("actor").order_by("created_at", "id")


# --- the staff board ---

STEP_STUCK_AFTER = timedelta(hours=24)


def step_stuck_after(step: str) -> timedelta:
    """How long a step may run without news before it counts as stuck (an erasure first waits its grace)."""
    if step == FulfilmentStepKind.ERASURE:
        return STEP_STUCK_AFTER + timedelta(hours=settings.PRIVACY_ERASURE_GRACE_HOURS)
    return STEP_STUCK_AFTER


def step_is_stuck(step: FulfilmentStep, *, now: datetime) -> bool:
    return step.status == StepStatus.RUNNING and now - step.updated_at > step_stuck_after(step.step)


@dataclass
class BoardFilters:
    kind: str = ""
    status: str = ""
    band: str = ""
    assignee: str = ""  # a user id, "none" for unassigned, "" for anyone
    show_unverified: bool = False
    show_duplicates: bool = False


@dataclass
class BoardRow:
    request: DataSubjectRequest
    due_at: datetime
    days_left: int
    band: str
    paused: bool
    failed_steps: list[FulfilmentStep] = field(default_factory=list)
    stuck_steps: list[FulfilmentStep] = field(default_factory=list)
    retrying_steps: list[FulfilmentStep] = field(default_factory=list)  # running, failing, trying again by itself
    first_response_overdue: bool = False


def board_rows(*, filters: BoardFilters, now: datetime | None = None) -> list[BoardRow]:
    """Every open request with its live deadline and band, and every request that needs attention whatever its
    status (a step failed after it closed, say). Two queries, whatever the number of rows."""
    now = now or timezone.now()
    # Asking for the unverified ones by status shows them too, without also ticking "show unverified".
    show_unverified = filters.show_unverified or filters.status == "submitted"
    statuses = list(OPEN_STATUSES) if show_unverified else [s for s in OPEN_STATUSES if s != "submitted"]
    queryset = (
        DataSubjectRequest.objects.filter(Q(status__in=statuses) | Q(needs_attention=True))
        .select_related("assignee", "user", "duplicate_of")
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=FulfilmentStep.objects.exclude(status=StepStatus.SUCCEEDED),
                to_attr="unfinished_steps",
            )
        )
        .order_by("due_at", "pk")
    )
    if not filters.show_duplicates:
        queryset = queryset.filter(Q(duplicate_of__isnull=True) | Q(needs_attention=True))
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        queryset = queryset.filter(assignee_id=int(filters.assignee))
    rows = []
    for request in queryset:
        paused = request.paused_since is not None
        due = live_due_at(request, now=now)
        band = sla.band_for(due_at=due, now=now)
        if filters.band and band != filters.band:
            continue
        rows.append(
            BoardRow(
                request=request,
                due_at=due,
                days_left=sla.days_left(due_at=due, now=now),
                band=band,
                paused=paused,
                failed_steps=[s for s in request.unfinished_steps if s.status == StepStatus.FAILED],
                stuck_steps=[s for s in request.unfinished_steps if step_is_stuck(s, now=now)],
                retrying_steps=[s for s in request.unfinished_steps if s.status == StepStatus.RUNNING and s.progress],
                first_response_overdue=request.first_response_at is None and now > request.first_response_due_at,
            )
        )
    return rows


def staff_assignees() -> QuerySet[User]:
    return User.objects.filter(is_staff=True, is_active=True).order_by("email")


@dataclass
class MonthMetrics:
    month: str
    received: int
    completed: int
    on_time: int
    median_days: float | None

    @property
    def on_time_percent(self) -> float | None:
        return round(100 * self.on_time / self.completed, 1) if self.completed else None


def board_metrics(*, months: int = 12, now: datetime | None = None) -> dict:
    """Open count, and per month of closing: answered, on time %, median days to answer. Three queries.

    A request counts as answered when it was completed or rejected (both are answers the law asks for);
    on time = closed before its (possibly extended, pause-adjusted) deadline.
    """
    now = now or timezone.now()
    local_now = now.astimezone(operator_tz())
    first_month = sla.add_calendar_months(local_now.date().replace(day=1), -(months - 1))
    start = datetime.combine(first_month, datetime.min.time(), tzinfo=operator_tz())
    open_counts = dict(
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    closed = DataSubjectRequest.objects.filter(
        status__in=[RequestStatus.COMPLETED, RequestStatus.REJECTED], closed_at__gte=start
    ).values_list("received_at", "closed_at", "due_at")
    received = (
        DataSubjectRequest.objects.filter(received_at__gte=start)
        .exclude(status=RequestStatus.EXPIRED)
        .values_list("received_at", flat=True)
    )
    buckets: dict[str, dict] = defaultdict(lambda: {"received": 0, "completed": 0, "on_time": 0, "days": []})
    for received_at in received:
        buckets[f"{received_at.astimezone(operator_tz()):%Y-%m}"]["received"] += 1
    for received_at, closed_at, due_at in closed:
        bucket = buckets[f"{closed_at.astimezone(operator_tz()):%Y-%m}"]
        bucket["completed"] += 1
        bucket["on_time"] += closed_at <= due_at
        bucket["days"].append((closed_at - received_at).total_seconds() / 86400)
    month_keys = []
    cursor = first_month
    while cursor <= local_now.date():
        month_keys.append(f"{cursor:%Y-%m}")
        cursor = sla.add_calendar_months(cursor, 1)
    per_month = [
        MonthMetrics(
            month=key,
            received=buckets[key]["received"],
            completed=buckets[key]["completed"],
            on_time=buckets[key]["on_time"],
            median_days=round(statistics.median(buckets[key]["days"]), 1) if buckets[key]["days"] else None,
        )
        for key in month_keys
    ]
    all_days = [d for key in month_keys for d in buckets[key]["days"]]
    completed_total = sum(m.completed for m in per_month)
    return {
        "open_total": sum(open_counts.values()),
        "unverified_total": open_counts.get(RequestStatus.SUBMITTED, 0),
        "open_by_status": open_counts,
        "completed_total": completed_total,
        "on_time_percent": (
            round(100 * sum(m.on_time for m in per_month) / completed_total, 1) if completed_total else None
        ),
        "median_days": round(statistics.median(all_days), 1) if all_days else None,
        "per_month": per_month,
    }
