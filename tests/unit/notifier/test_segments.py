"""Segments and encodings: what each SMS costs (GSM 03.38 and UCS-2, as handsets count)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.domain import GSM7_BASIC, GSM7_EXTENSION, count_segments

ARABIC_LETTER = "ب"


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_text_fills_160_alone_and_153_a_part(length: int, segments: int) -> None:
    result = count_segments("a" * length)

    assert (result.encoding, result.count, result.characters) == ("GSM-7", segments, length)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_arabic_text_is_ucs2_70_alone_and_67_a_part(length: int, segments: int) -> None:
    result = count_segments(ARABIC_LETTER * length)

    assert (result.encoding, result.count) == ("UCS-2", segments)


def test_71_arabic_characters_are_2_segments() -> None:
    text = "أمانة عمّان الكبرى: تم استلام طلبك رقم ١٢٣ وسيتم إبلاغك بالنتيجة قريباً"[:71]
    assert len(text) == 71

    assert count_segments(text).count == 2


def test_one_arabic_character_makes_an_english_text_ucs2() -> None:
    text = "Greater Amman Municipality: reason " + ARABIC_LETTER

    assert count_segments(text).encoding == "UCS-2"


def test_extension_characters_count_twice() -> None:
    assert count_segments("€" * 80).count == 1  # 160 septets
    assert count_segments("€" * 80 + "a").count == 2
    assert count_segments("[]{}" * 20).encoding == "GSM-7"


def test_a_part_never_splits_an_escape_sequence() -> None:
    # 152 single septets, then "€" (2): it cannot straddle the first part's end at 153.
    text = "a" * 152 + "€" + "a" * 152
    # 306 septets would fit two parts of 153, but the escape pair moves to the second part.
    assert sum(2 if c in GSM7_EXTENSION else 1 for c in text) == 306

    assert count_segments(text).count == 3


def test_a_part_never_splits_a_surrogate_pair() -> None:
    # 66 code units, then an emoji (2 units) that cannot straddle the 67-unit boundary.
    text = ARABIC_LETTER * 66 + "😀" + ARABIC_LETTER * 66
    assert len(text.encode("utf-16-le")) // 2 == 134

    assert count_segments(text).count == 3


def test_empty_text_is_no_segment() -> None:
    assert count_segments("").count == 0


@given(st.text(alphabet=sorted(GSM7_BASIC), min_size=1, max_size=1000))
def test_gsm7_basic_count_matches_the_formula(text: str) -> None:
    expected = 1 if len(text) <= 160 else -(-len(text) // 153)

    assert count_segments(text).count == expected


@given(st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي ،.", min_size=1, max_size=600))
def test_arabic_count_matches_the_formula(text: str) -> None:
    expected = 1 if len(text) <= 70 else -(-len(text) // 67)

    assert count_segments(text).count == expected
