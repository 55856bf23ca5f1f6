"""Jordan's working-day calendar: which local dates count, and when a working-day deadline ends.

This module owns the rule for counting municipal deadlines: working days are Sunday to Thursday,
less Jordan's public holidays (from the `holidays` package), less closures the government
announces, plus openings (dates declared working that would otherwise be a weekend or holiday).
Instants come and go as aware UTC datetimes; the rules themselves are applied to calendar dates in
the local zone (``Asia/Amman`` by default). It does no I/O: closures and openings are passed in
as data by whoever loads them.

The `holidays` package does the working-day test and the count (`is_working_day`,
`get_working_days_count`) on a calendar holding the closures and openings too; the unit tests
prove it agrees with this module's `why_closed`. The search for the next working day stays here:
it is bounded (`_MAX_SEARCH_DAYS`, a misconfiguration is an error), where the package's
`get_nth_working_day` would search for ever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NoReturn
from zoneinfo import ZoneInfo

import holidays

__all__ = ["WorkingCalendar"]

# Python's weekday(): Monday=0 ... Friday=4, Saturday=5.
_WEEKEND: Final = frozenset({4, 5})

# Even the longest run of consecutive holidays plus weekends is a couple of weeks; a full year
# without a working day can only mean misconfigured closures, and must not become an endless loop.
_MAX_SEARCH_DAYS: Final = 366

_ONE_DAY: Final = timedelta(days=1)


@lru_cache(maxsize=256)
def _holidays_for(country: str, year: int) -> Mapping[date, str]:
    # One year at a time, cached across instances: building a holidays object is the only
    # expensive step, and the years needed are only known when a date is asked about.
    return MappingProxyType(dict(holidays.country_holidays(country, years=year)))


def _working_days(
    country: str, closures: frozenset[date], openings: frozenset[date]
) -> holidays.HolidayBase:
    """The country's holidays as the `holidays` package's calendar, with this calendar's
    closures added as holidays and its openings made working days: an opening on a weekend is a
    `weekend_workdays` day, one on a holiday or closure has that entry removed. Its
    `is_working_day` and `get_working_days_count` then mean what this module means.

    The weekend (Friday and Saturday) is the package's own for Jordan; a year is filled in when
    first asked about, the years of the openings now, so that their removals hold."""
    days = holidays.country_holidays(country)
    if set(days.weekend) != _WEEKEND:
        raise ValueError(f"the holidays package's weekend for {country} is not Friday-Saturday")
    days.update(dict.fromkeys(closures, "closure"))
    days.weekend_workdays = {day for day in openings if day.weekday() in _WEEKEND}
    for day in openings:
        if day in days:
            days.pop(day)
    return days


def _require_date(value: date, what: str) -> date:
    # datetime is a subclass of date but never equals one, so a datetime slipping in here would
    # silently miss every closure and opening.
    if isinstance(value, datetime):
        raise TypeError(f"{what} must be a date, not a datetime: {value!r}")
    if not isinstance(value, date):
        raise TypeError(f"{what} must be a date: {value!r}")
    return value


def _require_aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware: {value!r}")
    return value


class WorkingCalendar:
    """Working days in one country and time zone, with announced closures and openings.

    Instances are immutable and safe to share between tasks and threads.
    """

    __slots__ = ("_closures", "_country", "_days", "_openings", "_tz", "_zone")

    _closures: frozenset[date]
    _days: holidays.HolidayBase
    _openings: frozenset[date]
    _tz: str
    _zone: ZoneInfo
    _country: str

    def __init__(
        self,
        *,
        closures: Iterable[date] = (),
        openings: Iterable[date] = (),
        tz: str = "Asia/Amman",
        country: str = "JO",
    ) -> None:
        closed = frozenset(_require_date(d, "closure") for d in closures)
        opened = frozenset(_require_date(d, "opening") for d in openings)
        # A date both closed and opened is a data error; picking a winner would hide it.
        if both := closed & opened:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates are both closures and openings: {listed}")
        # Fail at construction rather than on the first lookup, which may be deep in a request.
        if country not in holidays.list_supported_countries():
            raise ValueError(f"no public-holiday data for country {country!r}")
        zone = ZoneInfo(tz)
        object.__setattr__(self, "_days", _working_days(country, closed, opened))
        object.__setattr__(self, "_closures", closed)
        object.__setattr__(self, "_openings", opened)
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_country", country)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(country={self._country!r}, tz={self._tz!r}, "
            f"closures={len(self._closures)}, openings={len(self._openings)})"
        )

    @property
    def closures(self) -> frozenset[date]:
        return self._closures

    @property
    def openings(self) -> frozenset[date]:
        return self._openings

    @property
    def tz(self) -> str:
        return self._tz

    @property
    def country(self) -> str:
        return self._country

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on `day` (names joined by "; " if several), else None."""
        day = _require_date(day, "day")
        return _holidays_for(self._country, day.year).get(day)

    def why_closed(self, day: date) -> str | None:
        """Why `day` is not a working day, or None if it is one.

        An opening wins over everything. Otherwise the holiday's name is preferred to "closure"
        and "weekend", since it is the most specific thing to tell a citizen.
        """
        day = _require_date(day, "day")
        if day in self._openings:
            return None
        if (name := self.holiday_name(day)) is not None:
            return name
        if day in self._closures:
            return "closure"
        if day.weekday() in _WEEKEND:
            return "weekend"
        return None

    def is_working_day(self, day: date) -> bool:
        """The `holidays` package's own test, on this calendar's days (see `_working_days`);
        the unit tests prove it agrees with `why_closed` on every kind of day."""
        return bool(self._days.is_working_day(_require_date(day, "day")))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day = _require_date(day, "day")
        candidate = day
        for _ in range(_MAX_SEARCH_DAYS):
            candidate += _ONE_DAY
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_SEARCH_DAYS} days after {day.isoformat()}")

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day`; `day` itself is never counted.

        Thursday + 1 is Sunday, and so is Friday + 1. With n == 0 the result is `day` if it is a
        working day, else the next working day, so the result is always a working day.
        """
        day = _require_date(day, "day")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return day if self.is_working_day(day) else self.next_working_day(day)
        result = day
        for _ in range(n):
            result = self.next_working_day(result)
        return result

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d satisfy start < d <= end (0 if end <= start)."""
        start = _require_date(start, "start")
        end = _require_date(end, "end")
        if end <= start:
            return 0
        # The package counts a closed interval [first, last].
        return int(self._days.get_working_days_count(start + _ONE_DAY, end))

    def local_date(self, instant: datetime) -> date:
        """The local calendar date of an aware instant."""
        instant = _require_aware(instant, "instant")
        return instant.astimezone(self._zone).date()

    def deadline_after(self, instant: datetime, working_days: int) -> datetime:
        """The end of the n-th working day after the local date of `instant`, as aware UTC.

        "End of day" is the local midnight that starts the next calendar day, so a deadline is
        met by anything strictly before it (see :meth:`is_past`).
        """
        last_day = self.add_working_days(self.local_date(instant), working_days)
        end = datetime.combine(last_day + _ONE_DAY, time.min, tzinfo=self._zone)
        return end.astimezone(UTC)

    def is_past(self, deadline: datetime, now: datetime) -> bool:
        """Whether `deadline` has passed at `now`; the deadline instant itself is already late."""
        deadline = _require_aware(deadline, "deadline")
        now = _require_aware(now, "now")
        return now >= deadline
