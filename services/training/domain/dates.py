"""Amman days: a request's dates are Amman calendar days, its deadlines instants (UTC)."""

from __future__ import annotations

import calendar as month_calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AMMAN = ZoneInfo("Asia/Amman")


def local_date(instant: datetime) -> date:
    return instant.astimezone(AMMAN).date()


def day_start(day: date) -> datetime:
    """The instant the Amman day `day` begins, in UTC."""
    return datetime.combine(day, time.min, tzinfo=AMMAN).astimezone(UTC)


def period_end(day: date) -> datetime:
    """The end of the Amman day `day` (the midnight that starts the next), in UTC."""
    return day_start(day + timedelta(days=1))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = month_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))
