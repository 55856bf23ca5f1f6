"""Working-day rules for Jordan: weekends, public holidays, closures, openings, deadlines."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.calendar import WorkingCalendar

CAL = WorkingCalendar()
AMMAN = ZoneInfo("Asia/Amman")

# A quiet stretch of February 2026 with no public holidays.
SUN_FEB_1 = date(2026, 2, 1)
THU_FEB_5 = date(2026, 2, 5)
FRI_FEB_6 = date(2026, 2, 6)
SAT_FEB_7 = date(2026, 2, 7)
SUN_FEB_8 = date(2026, 2, 8)
MON_FEB_9 = date(2026, 2, 9)

# Around Eid al-Adha 2026: Independence Day (Mon 25 May), Day of Arafah (Tue 26),
# Eid al-Adha (Wed 27 to Fri 29), then Saturday 30.
THU_MAY_21 = date(2026, 5, 21)
SUN_MAY_24 = date(2026, 5, 24)
SUN_MAY_31 = date(2026, 5, 31)


def test_fixture_dates_fall_on_the_expected_weekdays() -> None:
    assert SUN_FEB_1.strftime("%a") == "Sun"
    assert THU_FEB_5.strftime("%a") == "Thu"
    assert THU_MAY_21.strftime("%a") == "Thu"
    assert SUN_MAY_24.strftime("%a") == "Sun"
    assert date(2026, 5, 25).strftime("%a") == "Mon"


def test_sunday_to_thursday_work_friday_and_saturday_do_not() -> None:
    assert all(CAL.is_working_day(SUN_FEB_1 + timedelta(days=k)) for k in range(5))
    assert not CAL.is_working_day(FRI_FEB_6)
    assert not CAL.is_working_day(SAT_FEB_7)
    assert CAL.why_closed(FRI_FEB_6) == "weekend"
    assert CAL.why_closed(SAT_FEB_7) == "weekend"
    assert CAL.why_closed(THU_FEB_5) is None


def test_thursday_plus_one_is_sunday() -> None:
    assert CAL.add_working_days(THU_FEB_5, 1) == SUN_FEB_8


def test_sunday_plus_four_is_thursday_and_plus_five_is_next_sunday() -> None:
    assert CAL.add_working_days(SUN_FEB_1, 4) == THU_FEB_5
    assert CAL.add_working_days(SUN_FEB_1, 5) == SUN_FEB_8


def test_start_day_is_not_counted_even_when_it_is_not_a_working_day() -> None:
    assert CAL.add_working_days(FRI_FEB_6, 1) == SUN_FEB_8
    assert CAL.add_working_days(SAT_FEB_7, 1) == SUN_FEB_8
    assert CAL.add_working_days(SAT_FEB_7, 2) == MON_FEB_9


def test_zero_days_is_the_day_itself_or_the_next_working_day() -> None:
    assert CAL.add_working_days(THU_FEB_5, 0) == THU_FEB_5
    assert CAL.add_working_days(FRI_FEB_6, 0) == SUN_FEB_8


def test_next_working_day_is_strictly_after() -> None:
    assert CAL.next_working_day(SUN_FEB_1) == date(2026, 2, 2)
    assert CAL.next_working_day(THU_FEB_5) == SUN_FEB_8
    assert CAL.next_working_day(FRI_FEB_6) == SUN_FEB_8


def test_eid_al_adha_week_is_skipped() -> None:
    # Sunday 24 May is an ordinary working day; Monday 25 to Saturday 30 are all closed.
    assert CAL.add_working_days(THU_MAY_21, 1) == SUN_MAY_24
    assert CAL.add_working_days(THU_MAY_21, 2) == SUN_MAY_31
    assert CAL.add_working_days(SUN_MAY_24, 1) == SUN_MAY_31
    assert CAL.next_working_day(SUN_MAY_24) == SUN_MAY_31
    assert all(not CAL.is_working_day(date(2026, 5, d)) for d in range(25, 31))


def test_why_closed_names_the_holiday() -> None:
    assert CAL.why_closed(date(2026, 5, 25)) == "Independence Day"
    arafah = CAL.why_closed(date(2026, 5, 26))
    assert arafah is not None
    assert "Arafah" in arafah
    eid = CAL.why_closed(date(2026, 5, 27))
    assert eid is not None
    assert "Eid al-Adha" in eid
    # A holiday on a weekend is reported by its name, the more useful reason.
    eid_friday = CAL.why_closed(date(2026, 5, 29))
    assert eid_friday is not None
    assert "Eid al-Adha" in eid_friday
    assert CAL.why_closed(date(2026, 5, 30)) == "weekend"
    assert CAL.holiday_name(SUN_MAY_24) is None


def test_holidays_are_known_for_every_year_asked() -> None:
    for year in range(2025, 2031):
        name = CAL.why_closed(date(year, 5, 25))
        assert name is not None
        assert "Independence Day" in name
        assert CAL.why_closed(date(year, 1, 1)) is not None


def test_configured_closure_is_skipped() -> None:
    cal = WorkingCalendar(closures=[SUN_FEB_8])
    assert not cal.is_working_day(SUN_FEB_8)
    assert cal.why_closed(SUN_FEB_8) == "closure"
    assert cal.add_working_days(THU_FEB_5, 1) == MON_FEB_9
    assert cal.next_working_day(THU_FEB_5) == MON_FEB_9


def test_opening_makes_a_friday_a_working_day() -> None:
    cal = WorkingCalendar(openings=[FRI_FEB_6])
    assert cal.is_working_day(FRI_FEB_6)
    assert cal.why_closed(FRI_FEB_6) is None
    assert cal.add_working_days(THU_FEB_5, 1) == FRI_FEB_6
    assert cal.add_working_days(THU_FEB_5, 2) == SUN_FEB_8


def test_opening_makes_a_holiday_a_working_day() -> None:
    independence_day = date(2026, 5, 25)
    cal = WorkingCalendar(openings=[independence_day])
    assert cal.is_working_day(independence_day)
    assert cal.add_working_days(SUN_MAY_24, 1) == independence_day
    assert cal.add_working_days(SUN_MAY_24, 2) == SUN_MAY_31


def test_the_default_calendar_is_not_affected_by_another_ones_data() -> None:
    WorkingCalendar(closures=[SUN_FEB_8], openings=[FRI_FEB_6])
    assert CAL.is_working_day(SUN_FEB_8)
    assert not CAL.is_working_day(FRI_FEB_6)


def test_working_days_between_a_plain_weekend() -> None:
    # Fri, Sat skipped; Sun 8 and Mon 9 counted.
    assert CAL.working_days_between(THU_FEB_5, MON_FEB_9) == 2
    assert CAL.working_days_between(SUN_FEB_1, SUN_FEB_8) == 5


def test_working_days_between_a_weekend_and_a_holiday() -> None:
    # Thu 21 excluded (start); Fri 22, Sat 23 weekend; Sun 24 counts; 25-30 closed; Sun 31 counts.
    assert CAL.working_days_between(THU_MAY_21, SUN_MAY_31) == 2
    assert CAL.working_days_between(SUN_MAY_24, date(2026, 5, 30)) == 0


def test_working_days_between_is_zero_when_end_is_not_after_start() -> None:
    assert CAL.working_days_between(SUN_FEB_8, SUN_FEB_8) == 0
    assert CAL.working_days_between(SUN_FEB_8, SUN_FEB_1) == 0


def test_local_date_crosses_the_utc_boundary() -> None:
    # 22:30 UTC on Wednesday is already 01:30 on Thursday in Amman (UTC+3).
    assert CAL.local_date(datetime(2026, 11, 25, 22, 30, tzinfo=UTC)) == date(2026, 11, 26)
    assert CAL.local_date(datetime(2026, 11, 25, 20, 59, tzinfo=UTC)) == date(2026, 11, 25)


def test_amman_is_utc_plus_three_all_year() -> None:
    # Jordan dropped daylight saving in 2022; the deadline expectations below rely on it.
    assert datetime(2026, 1, 15, tzinfo=AMMAN).utcoffset() == timedelta(hours=3)
    assert datetime(2026, 11, 30, tzinfo=AMMAN).utcoffset() == timedelta(hours=3)


def test_deadline_is_the_end_of_the_nth_working_day_in_utc() -> None:
    submitted = datetime(2026, 11, 26, 10, 0, tzinfo=AMMAN)  # Thursday
    deadline = CAL.deadline_after(submitted, 1)
    # End of Sunday 29 Nov = Amman midnight starting Monday 30 Nov = 21:00 UTC on the 29th.
    assert deadline == datetime(2026, 11, 30, 0, 0, tzinfo=AMMAN)
    assert deadline == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    assert deadline.tzinfo is UTC


def test_deadline_uses_the_amman_date_not_the_utc_date() -> None:
    # Still Wednesday 25 Nov in UTC, but Thursday 26 Nov in Amman: the next working day is Sunday.
    late_wednesday_utc = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    assert CAL.deadline_after(late_wednesday_utc, 1) == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    # Wednesday in both zones: the next working day is Thursday.
    wednesday = datetime(2026, 11, 25, 20, 59, tzinfo=UTC)
    assert CAL.deadline_after(wednesday, 1) == datetime(2026, 11, 26, 21, 0, tzinfo=UTC)


def test_deadline_with_zero_days_ends_the_same_working_day() -> None:
    submitted = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # Thursday in Amman
    assert CAL.deadline_after(submitted, 0) == datetime(2026, 11, 26, 21, 0, tzinfo=UTC)


def test_is_past_at_and_around_the_deadline() -> None:
    deadline = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    assert not CAL.is_past(deadline, deadline - timedelta(microseconds=1))
    assert CAL.is_past(deadline, deadline)
    assert CAL.is_past(deadline, datetime(2026, 11, 30, 0, 0, tzinfo=AMMAN))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 11, 26, 10, 0)
    aware = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.local_date(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.deadline_after(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_past(aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_past(naive, aware)


def test_negative_n_is_rejected() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        CAL.add_working_days(THU_FEB_5, -1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        CAL.deadline_after(datetime(2026, 11, 26, 10, 0, tzinfo=UTC), -1)


def test_datetimes_are_not_accepted_as_days() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        CAL.is_working_day(datetime(2026, 2, 5, 12, 0))
    with pytest.raises(TypeError, match="not a datetime"):
        WorkingCalendar(closures=[datetime(2026, 2, 8)])


def test_a_date_both_closed_and_opened_is_rejected() -> None:
    with pytest.raises(ValueError, match="both closures and openings"):
        WorkingCalendar(closures=[SUN_FEB_8], openings=[SUN_FEB_8])


def test_unknown_country_is_rejected() -> None:
    with pytest.raises(ValueError, match="no public-holiday data"):
        WorkingCalendar(country="XX")


def test_calendar_is_immutable() -> None:
    cal = WorkingCalendar(closures=[SUN_FEB_8])
    assert cal.closures == frozenset({SUN_FEB_8})
    assert isinstance(cal.openings, frozenset)
    with pytest.raises(AttributeError):
        cal._closures = frozenset()
    with pytest.raises(AttributeError):
        cal.extra = 1
    assert cal.why_closed(SUN_FEB_8) == "closure"


def test_search_for_a_working_day_is_bounded() -> None:
    start = date(2026, 2, 1)
    everything_closed = WorkingCalendar(closures=[start + timedelta(days=k) for k in range(1, 400)])
    with pytest.raises(ValueError, match="no working day within 366 days"):
        everything_closed.next_working_day(start)


@settings(deadline=None, max_examples=300)
@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=0, max_value=30),
)
def test_add_then_count_round_trips(day: date, n: int) -> None:
    result = CAL.add_working_days(day, n)
    assert CAL.is_working_day(result)
    assert result >= day
    if n > 0:
        assert result > day
        assert CAL.working_days_between(day, result) == n
    else:
        assert CAL.working_days_between(day, result) == (0 if CAL.is_working_day(day) else 1)


# The working-day test and the count are the `holidays` package's (with the closures added as
# holidays and the openings made working days); `why_closed` is this module's own reading of the
# same rules. They must agree on every kind of day: weekdays, weekends, holidays, closures and
# openings on each of them.
_DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@settings(deadline=None, max_examples=200)
@given(
    closures=st.frozensets(_DAYS, max_size=20),
    openings=st.frozensets(_DAYS, max_size=20),
    days=st.lists(_DAYS, min_size=1, max_size=30),
)
def test_the_packages_working_day_is_this_calendars(
    closures: frozenset[date], openings: frozenset[date], days: list[date]
) -> None:
    calendar = WorkingCalendar(closures=closures - openings, openings=openings)
    # Every opening and closure is asked about, and some holidays: Eid al-Fitr and Independence Day.
    asked = [*days, *closures, *openings, date(2026, 3, 20), date(2026, 5, 25), date(2027, 5, 25)]
    for day in asked:
        assert calendar.is_working_day(day) is (calendar.why_closed(day) is None), day


@settings(deadline=None, max_examples=100)
@given(
    closures=st.frozensets(_DAYS, max_size=20),
    start=_DAYS,
    span=st.integers(min_value=-5, max_value=60),
)
def test_the_packages_count_is_the_days_counted_one_by_one(
    closures: frozenset[date], start: date, span: int
) -> None:
    calendar = WorkingCalendar(closures=closures)
    end = start + timedelta(days=span)
    by_hand = sum(
        1 for k in range(1, span + 1) if calendar.why_closed(start + timedelta(days=k)) is None
    )
    assert calendar.working_days_between(start, end) == by_hand
