"""How values read in an SMS: dinars with fils, Amman's clock, shortened free texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.notifier.domain import amman_clock, amman_time, end_sentence, format_jod, shorten


@pytest.mark.parametrize(
    ("fils", "shown"), [(12500, "12.500"), (0, "0.000"), (5, "0.005"), (1_250_000, "1250.000")]
)
def test_dinars_show_three_decimals_of_fils(fils: int, shown: str) -> None:
    assert format_jod(fils) == shown


def test_a_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError):
        format_jod(-1)


def test_times_are_shown_in_amman_whatever_zone_they_come_in() -> None:
    instant = datetime(2026, 12, 1, 20, 59, tzinfo=UTC)

    assert amman_time(instant) == "01/12/2026 23:59"
    assert amman_time(instant.astimezone(timezone(timedelta(hours=-5)))) == "01/12/2026 23:59"
    assert amman_clock(instant) == "23:59"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        amman_time(datetime(2026, 12, 1, 20, 59))


def test_shorten_cuts_at_a_word_and_says_so() -> None:
    assert shorten("رسوم امتحان تجريبي", 40) == "رسوم امتحان تجريبي"
    assert shorten("one two three four", 12) == "one two..."
    assert len(shorten("x" * 100, 20)) == 20
    assert shorten("a  b\n c", 10) == "a b c"


def test_a_sentence_ends_once() -> None:
    assert end_sentence("لم تُرفق الوثيقة") == "لم تُرفق الوثيقة."
    assert end_sentence("cut here...") == "cut here..."
    assert end_sentence("لماذا؟") == "لماذا؟"
