"""SLA arithmetic: calendar months at month ends and leap years, working days and holidays, pauses,
extensions, bands, and the 48-business-hour rule for inquiries."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import sla
from privacy.sla import PH_TZ, Band, Holiday, SlaRule, add_calendar_months, add_working_days, due_at_compute

DSR = SlaRule.DATA_SUBJECT_REQUEST
INQUIRY = SlaRule.INQUIRY_48_BUSINESS_HOURS


def manila(*args) -> datetime:
    return datetime(*args, tzinfo=PH_TZ)


def due_day(deadline: datetime) -> date:
    """The last calendar day on which the answer is still on time."""
    return (deadline - timedelta(microseconds=1)).astimezone(PH_TZ).date()


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 31), 1, date(2027, 1, 31)),
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 2, 28), 2, date(2026, 4, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_calendar_months_keep_the_day_or_take_the_month_end(start, months, expected):
    assert add_calendar_months(start, months) == expected


def test_received_31_january_is_due_28_february_not_2_march():
    deadline = due_at_compute(rule=DSR, received_at=manila(2026, 1, 31, 10, 0), holidays=[])
    assert due_day(deadline) == date(2026, 2, 28)
    assert deadline == manila(2026, 3, 1, 0, 0)  # the end of 28 February, Philippine time


def test_leap_year_31_january_is_due_29_february():
    assert due_day(due_at_compute(rule=DSR, received_at=manila(2028, 1, 31, 9), holidays=[])) == date(2028, 2, 29)


def test_thirty_calendar_days_win_in_a_31_day_month():
    # One calendar month from 1 March is 1 April; 30 days is 31 March, earlier, and the policy promises 30 days.
    assert due_day(due_at_compute(rule=DSR, received_at=manila(2026, 3, 1, 9), holidays=[])) == date(2026, 3, 31)


def test_receipt_is_dated_in_philippine_time():
    # 17:30 UTC on 30 January is 01:30 on 31 January in Manila: the request was received on the 31st.
    received = datetime(2026, 1, 30, 17, 30, tzinfo=ZoneInfo("UTC"))
    assert due_day(due_at_compute(rule=DSR, received_at=received, holidays=[])) == date(2026, 2, 28)


def test_working_days_skip_weekends_and_holidays():
    # Friday 3 April 2026 (Good Friday) and Thursday 2 April (Maundy Thursday) are holidays.
    holidays = {date(2026, 4, 2), date(2026, 4, 3)}
    assert add_working_days(date(2026, 4, 1), 1, holidays) == date(2026, 4, 6)  # Wed → next Monday
    assert add_working_days(date(2026, 4, 1), 1, set()) == date(2026, 4, 2)
    assert add_working_days(date(2026, 11, 27), 30, set()) == date(2027, 1, 8)


def test_thirty_working_days_never_beat_thirty_calendar_days_but_are_still_computed(monkeypatch):
    calls = []
    original = sla.add_working_days
    monkeypatch.setattr(sla, "add_working_days", lambda *a: calls.append(a) or original(*a))
    deadline = due_at_compute(rule=DSR, received_at=manila(2026, 12, 1, 9), holidays=[date(2026, 12, 25)])
    assert calls and calls[0][1] == 30 and date(2026, 12, 25) in calls[0][2]
    assert due_day(deadline) == date(2026, 12, 31)


def test_pause_moves_the_deadline_by_exactly_the_paused_time():
    base = due_at_compute(rule=DSR, received_at=manila(2026, 1, 31, 10), holidays=[])
    paused = timedelta(days=3, hours=4, minutes=5)
    assert due_at_compute(rule=DSR, received_at=manila(2026, 1, 31, 10), paused=paused, holidays=[]) == base + paused


def test_extension_adds_two_calendar_months_to_the_original_due_date():
    received = manila(2026, 1, 31, 10)
    extended = due_at_compute(rule=DSR, received_at=received, extended=True, holidays=[])
    assert due_day(extended) == date(2026, 4, 28)  # 28 February + two months
    with_pause = due_at_compute(rule=DSR, received_at=received, extended=True, paused=timedelta(days=2), holidays=[])
    assert due_day(with_pause) == date(2026, 4, 30)


@given(
    received=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2031, 12, 31)),
    extended=st.booleans(),
)
def test_never_later_than_the_gdpr_limits(received, extended):
    received = received.replace(tzinfo=PH_TZ)
    deadline = due_day(due_at_compute(rule=DSR, received_at=received, extended=extended, holidays=[]))
    limit = add_calendar_months(received.date(), 3 if extended else 1)
    assert received.date() < deadline <= limit
    if not extended:
        assert deadline <= received.date() + timedelta(days=30)


def test_current_due_at_keeps_moving_while_paused():
    due = manila(2026, 3, 1)
    now = manila(2026, 2, 20, 12)
    assert sla.current_due_at(due_at=due, paused_since=None, now=now) == due
    assert sla.current_due_at(due_at=due, paused_since=manila(2026, 2, 18, 12), now=now) == due + timedelta(days=2)


@pytest.mark.parametrize(
    ("now", "band", "days_left"),
    [
        (manila(2026, 2, 20, 23, 59), Band.ON_TRACK, 8),
        (manila(2026, 2, 22, 0, 0), Band.DUE_SOON, 6),  # exactly 7 days before the deadline instant
        (manila(2026, 2, 21, 23, 59), Band.ON_TRACK, 7),
        (manila(2026, 2, 28, 23, 0), Band.DUE_SOON, 0),  # due today
        (manila(2026, 3, 1, 0, 0), Band.OVERDUE, -1),
        (manila(2026, 3, 5, 9, 0), Band.OVERDUE, -5),
    ],
)
def test_bands_and_days_left(now, band, days_left):
    due = manila(2026, 3, 1)  # the end of 28 February
    assert sla.band_for(due_at=due, now=now) == band
    assert sla.days_left(due_at=due, now=now) == days_left


def test_first_response_mark_is_15_calendar_days():
    assert due_day(sla.first_response_due_compute(received_at=manila(2026, 2, 20, 15))) == date(2026, 3, 7)


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="Unknown SLA rule 'thirty_days'"):
        due_at_compute(rule="thirty_days", received_at=manila(2026, 1, 1), holidays=[])


# --- inquiries: 48 hours counted on business days ---


def test_inquiry_on_a_tuesday_is_due_thursday_same_time():
    assert due_at_compute(rule=INQUIRY, received_at=manila(2026, 11, 24, 10), holidays=[]) == manila(2026, 11, 26, 10)


def test_inquiry_on_friday_skips_the_weekend():
    assert due_at_compute(rule=INQUIRY, received_at=manila(2026, 11, 27, 10), holidays=[]) == manila(2026, 12, 1, 10)


def test_inquiry_on_saturday_starts_counting_on_monday():
    assert due_at_compute(rule=INQUIRY, received_at=manila(2026, 11, 28, 10), holidays=[]) == manila(2026, 12, 2)


def test_inquiry_skips_holidays():
    # Bonifacio Day, Monday 30 November 2026: Friday 10:00 → Wednesday 10:00.
    holidays = [date(2026, 11, 30)]
    assert due_at_compute(rule=INQUIRY, received_at=manila(2026, 11, 27, 10), holidays=holidays) == manila(
        2026, 12, 2, 10
    )
    # Christmas Eve to New Year: 24, 25, 30, 31 December 2026 are holidays.
    season = [
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]
    assert due_at_compute(rule=INQUIRY, received_at=manila(2026, 12, 23, 9), holidays=season) == manila(2026, 12, 29, 9)


def test_inquiries_cannot_be_extended():
    with pytest.raises(ValueError):
        due_at_compute(rule=INQUIRY, received_at=manila(2026, 11, 24, 10), extended=True, holidays=[])


@pytest.mark.django_db
def test_the_holiday_table_is_read_when_no_holidays_are_given(django_assert_num_queries):
    Holiday.objects.create(date=date(2026, 11, 30), name="Bonifacio Day")
    with django_assert_num_queries(1):
        deadline = due_at_compute(rule=INQUIRY, received_at=manila(2026, 11, 27, 10))
    assert deadline == manila(2026, 12, 2, 10)
