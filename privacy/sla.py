"""Deadlines for data subject requests and contact inquiries, computed from a stored *rule* and its inputs.

A row never stores "30 days": a number of days cannot express "one calendar month" or "30 working days". It
stores an `SlaRule` value plus the inputs (receipt time, time paused awaiting the requester, whether it was
extended), and `due_at_compute` — the one function that knows the rules — derives the deadline. Rules are
versioned by name (`..._v1`): if the law or the policy changes, add a rule; old requests keep their rule.

Rules, all on the Philippine calendar in the operator's time zone (`portal.timezone`): weekends, the regular holidays
and special non-working days of the maintained `holidays` package (every year), and the days staff add in the
`Holiday` table (days proclaimed later, e.g. a local holiday or a sudden non-working day).

* `dsr_v1` — a data subject request is due at the end of the *earliest* of
    - 30 calendar days after receipt (privacy policy §6: "We will respond to your request within 30 days"),
    - one calendar month after receipt (GDPR Art. 12(3): the same day number next month, or that month's
      last day when it has none: 31 January → 28 February, 29 February in a leap year),
    - 30 working days after receipt (NPC Advisory 2021-01 as reported; weekends and holidays not counted).
  Time spent awaiting the requester's answer (the only pause) is added to the deadline. When staff asked for proof
  of identity, the clock stops and starts again from zero when the proof arrives (`clock_started_at`).
  Extension (once, with a reason, before the deadline, told to the requester): the deadline moves two
  calendar months later (same month-end rule). That keeps it within GDPR's three months from receipt, because
  the unextended date is never later than one calendar month after receipt. Pauses are added afterwards.
* `inquiry_48bh_v1` — a contact inquiry is answered within 48 hours counted on business days only: hours on
  a Saturday, Sunday or holiday do not count (received Friday 10:00 → due Tuesday 10:00; received on a
  Saturday → due at the end of Tuesday).

Separately, `first_response_due_compute` gives the NPC's 15-calendar-day mark for a first substantive answer.
"""

import calendar
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import holidays as official_holidays
from django.db import models

from portal.timezone import operator_date, operator_tz

# The operator's zone (settings.TIME_ZONE, Asia/Manila): every deadline is a day on the Philippine calendar.
PH_TZ = operator_tz()

DUE_SOON_WINDOW = timedelta(days=7)
FIRST_RESPONSE_CALENDAR_DAYS = 15
UNVERIFIED_LIFETIME = timedelta(days=7)
# Far enough ahead to hold 30 working days plus any holiday season; holidays are read once per computation.
_HOLIDAY_LOOKAHEAD = timedelta(days=120)


class SlaRule(models.TextChoices):
    DATA_SUBJECT_REQUEST = (
        "dsr_v1",
        "Earliest of 30 calendar days, one calendar month, 30 working days",
    )  # DSRs
    INQUIRY_48_BUSINESS_HOURS = (
        "inquiry_48bh_v1",
        "48 hours counted on business days",
    )  # contact form (policy §9)


class Holiday(models.Model):
    """Non-working days staff add to the Philippine holidays of the `holidays` package: days proclaimed after the
    package was released (a special non-working day, a local holiday). Maintained in admin."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class Band(models.TextChoices):
    ON_TRACK = "on_track", "On track"  # more than 7 days left
    DUE_SOON = "due_soon", "Due within 7 days"  # 7 days or less left
    OVERDUE = "overdue", "Overdue"  # the deadline has passed


# --- calendar helpers ---


def add_calendar_months(day: date, months: int) -> date:
    """Same day number `months` later; the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def is_business_day(day: date, holidays: set[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(day: date, working_days: int, holidays: set[date]) -> date:
    """The `working_days`-th business day after `day` (the day of receipt itself does not count)."""
    current, counted = day, 0
    while counted < working_days:
        current += timedelta(days=1)
        if is_business_day(current, holidays):
            counted += 1
    return current


def end_of_day(day: date) -> datetime:
    """The deadline instant for a due *date*: midnight at the start of the next day, Philippine time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=PH_TZ)


def add_business_hours(start: datetime, hours: int, holidays: set[date]) -> datetime:
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(PH_TZ)
    for _ in range(3660):  # ten years of days: a bounded loop even with a table full of holidays
        day_end = end_of_day(cursor.date())
        if is_business_day(cursor.date(), holidays):
            available = day_end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = day_end
    raise ValueError("No business days found within ten years; check the Holiday table.")


def official_holidays_between(start: date, end: date) -> set[date]:
    """Regular holidays and special non-working days of the Philippines (the package's "public" category; its
    "workday" category, special working days, is not a holiday)."""
    calendar_days = official_holidays.country_holidays("PH", years=range(start.year, end.year + 1))
    return {day for day in calendar_days if start <= day <= end}


def holidays_between(start: date, end: date) -> set[date]:
    """Every non-working holiday in [start, end]: the official calendar and the days staff added (one query)."""
    added = set(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True))
    return official_holidays_between(start, end) | added


# --- the one place that computes deadlines ---


def due_at_compute(
    *,
    rule: str,
    received_at: datetime,
    paused: timedelta = timedelta(0),
    extended: bool = False,
    holidays: Iterable[date] | None = None,
) -> datetime:
    """The deadline for `rule` given its inputs. `holidays` None → read the Holiday table (one query)."""
    received_local = received_at.astimezone(PH_TZ)
    received_day = received_local.date()
    if holidays is None:
        holiday_set = holidays_between(received_day, received_day + _HOLIDAY_LOOKAHEAD)
    else:
        holiday_set = set(holidays)
    if rule == SlaRule.DATA_SUBJECT_REQUEST:
        due_day = min(
            received_day + timedelta(days=30),
            add_calendar_months(received_day, 1),
            add_working_days(received_day, 30, holiday_set),
        )
        if extended:
            due_day = add_calendar_months(due_day, 2)
        return end_of_day(due_day) + paused
    if rule == SlaRule.INQUIRY_48_BUSINESS_HOURS:
        if extended:
            raise ValueError("Inquiries cannot be extended.")
        return add_business_hours(received_local, 48, holiday_set) + paused
    raise ValueError(f"Unknown SLA rule {rule!r}; known rules: {', '.join(SlaRule.values)}.")


def first_response_due_compute(*, received_at: datetime) -> datetime:
    """NPC complaint rules: a person may complain when no response arrives within 15 calendar days."""
    return end_of_day(received_at.astimezone(PH_TZ).date() + timedelta(days=FIRST_RESPONSE_CALENDAR_DAYS))


# --- reading a deadline ---


def current_due_at(*, due_at: datetime, paused_since: datetime | None, now: datetime) -> datetime:
    """While a request is paused the deadline keeps moving: the running pause counts as paused time."""
    if paused_since is None:
        return due_at
    return due_at + max(now - paused_since, timedelta(0))


def due_day(deadline: datetime) -> date:
    """The last day on which the answer is on time, in the operator's zone (a deadline is the midnight after it)."""
    return operator_date(deadline - timedelta(microseconds=1))


def due_label(deadline: datetime) -> str:
    """How every page, admin screen and e-mail writes a deadline: "28 February 2026"."""
    return f"{due_day(deadline):%d %B %Y}"


def days_left(*, due_at: datetime, now: datetime) -> int:
    """Calendar days from today to the due date (0 = due today, negative = overdue by that many days)."""
    return (due_day(due_at) - operator_date(now)).days


def band_for(*, due_at: datetime, now: datetime) -> Band:
    """Pass `current_due_at(...)` for a paused request, so a pause never turns it overdue."""
    if now >= due_at:
        return Band.OVERDUE
    if due_at - now <= DUE_SOON_WINDOW:
        return Band.DUE_SOON
    return Band.ON_TRACK
