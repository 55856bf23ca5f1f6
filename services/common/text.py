"""What a text a person types may contain, and strict dates: one rule for every service.

- `SafeText` / `SafeMultiline` (names of places, trade names, addresses, reasons, notes): no
  control characters (NUL and the rest of C0 and C1; a multi-line note keeps its line breaks and
  tabs) and no bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F/U+061C), which
  would let `"a\\u202Egnp.exe"` read as `"aexe.png"` in an SMS or a letter.
- `PersonName`: a person's name is words of Arabic or Latin letters (with their marks: harakat,
  accents), apart by spaces, `'`, `-` or `.`: `"٠٧٩١٢٣٤٥٦٧"` is no name. A service may demand
  more (exams: at least two words).
- `IsoDate` / `IsoDateTime`: a date or an instant written as ISO 8601 text (`2026-12-05`,
  `2026-12-05T10:00:00+03:00`). pydantic also reads a bare number as a Unix timestamp
  (`?day=0` was 1970-01-01); these refuse it with a 422 naming the field.

Each is an `Annotated` type: the published schema keeps its `format`, and carries the `pattern`
the check applies; a refusal is a 422 validation error naming the field, in Arabic and English.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from contracts import LocalizedText
from contracts.phones import PHONE_EXAMPLES, PHONE_PATTERN

# The patterns below are published in the OpenAPI document and are the rule itself: the check is
# `re.fullmatch` of the same expression. They spell their characters out (no `\\w`, `\\d`,
# `\\s`, whose meaning differs between Python and the ECMA regexes clients and generators use).

# C0 controls except tab, line feed and carriage return; DEL and C1; bidirectional controls.
_CONTROLS_EXCEPT_LINES = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
_LINE_CONTROLS = "\\u0009\\u000a\\u000d"
_BIDI = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
SAFE_TEXT = f"[^{_CONTROLS_EXCEPT_LINES}{_LINE_CONTROLS}{_BIDI}]*"
SAFE_MULTILINE = f"[^{_CONTROLS_EXCEPT_LINES}{_BIDI}]*"

# Letters of the Latin and Arabic scripts (with Persian and Urdu letters), and their marks.
_LETTER = (
    "A-Za-z\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u024f"
    "\\u0621-\\u064a\\u066e\\u066f\\u0671-\\u06d3\\u06d5\\u06fa-\\u06fc"
)
_MARK = "\\u0300-\\u036f\\u064b-\\u065f\\u0670"
_WORD = f"[{_LETTER}][{_LETTER}{_MARK}]*"
# Words of letters, apart by spaces, an apostrophe, a hyphen or a dot; an initial's dot at the end.
PERSON_NAME = f"{_WORD}(?:[ '\\u2019.-]+{_WORD})*[.]?"


def _anchored(pattern: str) -> str:
    return f"^{pattern}$"


def _checker(pattern: str, message: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise ValueError(message)
        return value

    return check


check_safe_text = _checker(
    SAFE_TEXT, "must not contain control characters or bidirectional overrides"
)
check_safe_multiline = _checker(
    SAFE_MULTILINE,
    "must not contain control characters (other than line breaks) or bidirectional overrides",
)
check_person_name = _checker(
    PERSON_NAME,
    "a name is Arabic or Latin letters, with spaces, ' - or . between words",
)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*", re.DOTALL)


def _iso_date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("must be a date (YYYY-MM-DD), without a time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.fullmatch(value):
        raise ValueError("must be a date and time in ISO 8601 (YYYY-MM-DDTHH:MM...)")
    return value


SafeText = Annotated[
    str,
    AfterValidator(check_safe_text),
    Field(json_schema_extra={"pattern": _anchored(SAFE_TEXT)}),
]
SafeMultiline = Annotated[
    str,
    AfterValidator(check_safe_multiline),
    Field(json_schema_extra={"pattern": _anchored(SAFE_MULTILINE)}),
]
PersonName = Annotated[
    str,
    AfterValidator(check_person_name),
    Field(json_schema_extra={"pattern": _anchored(PERSON_NAME)}, examples=["ليلى أحمد الحداد"]),
]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


# A phone a person types: the published pattern is the accepted one (contracts/phones.py), so a
# generator of valid numbers makes numbers the service takes.
Phone = Annotated[
    str,
    Field(
        pattern=PHONE_PATTERN,
        max_length=40,
        description=(
            "A Jordanian mobile number: 07XXXXXXXX, +9627XXXXXXXX or 009627XXXXXXXX; single "
            "spaces or dashes between digits and Arabic-Indic digits are accepted."
        ),
        examples=PHONE_EXAMPLES,
    ),
]
IsoAwareDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]


class SafeLocalizedText(LocalizedText):
    """A `LocalizedText` a person typed (a rejection reason sent by SMS): each language is
    `SafeMultiline`."""

    ar: SafeMultiline = Field(min_length=1, description="The text in Arabic.")
    en: SafeMultiline = Field(min_length=1, description="The text in English.")
