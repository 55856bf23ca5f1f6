"""The validity rule: one year from the later of today and the day after the current expiry."""

from __future__ import annotations

from datetime import date

import pytest

from services.contractors.domain import add_years, new_validity


@pytest.mark.parametrize(
    ("current_to", "today", "expected"),
    [
        # Renewed early: the remaining days are kept.
        (date(2026, 12, 31), date(2026, 11, 23), (date(2027, 1, 1), date(2027, 12, 31))),
        # Lapsed: from today.
        (date(2026, 5, 31), date(2026, 11, 23), (date(2026, 11, 23), date(2027, 11, 22))),
        # Expiring today: from tomorrow.
        (date(2026, 11, 23), date(2026, 11, 23), (date(2026, 11, 24), date(2027, 11, 23))),
        # A leap day start.
        (date(2028, 2, 28), date(2027, 11, 1), (date(2028, 2, 29), date(2029, 2, 27))),
    ],
)
def test_new_validity(current_to: date, today: date, expected: tuple[date, date]) -> None:
    assert new_validity(current_to, today) == expected


def test_29_february_a_year_later_is_28_february() -> None:
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2026, 3, 31), 1) == date(2027, 3, 31)
