"""The one rule for an applicant's phone: a Jordanian mobile number, kept in E.164.

Events carry `applicant.phone` (contracts/common.py); the services that take a phone from a
citizen and the notifier that sends to it apply this same rule, so a number one accepts the other
can reach.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = [
    "JORDAN_MOBILE",
    "PHONE_EXAMPLES",
    "PHONE_PATTERN",
    "InvalidPhone",
    "jordan_mobile",
    "mask_phone",
]

# Jordan's mobile networks: +962 7 then 7, 8 or 9, then seven digits.
JORDAN_MOBILE = re.compile(r"\A\+9627[789][0-9]{7}\Z")

# Arabic-Indic and Extended (Persian) digits, as people type them on Arabic keyboards.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _digit(allowed: str) -> str:
    """A character class for the Western digits `allowed` and their Arabic-Indic and Persian
    forms."""
    return "[" + "".join(d + "٠١٢٣٤٥٦٧٨٩"[int(d)] + "۰۱۲۳۴۵۶۷۸۹"[int(d)] for d in allowed) + "]"


_SEP = "[ -]?"
_ANY = _digit("0123456789")
# What the API publishes and enforces for a phone a person types, and exactly what
# `jordan_mobile` then accepts: an optional +962 / 00962 / 962 or a leading 0, then a Jordanian
# mobile number (7 then 9 and any digit, or 7 or 8 and a digit other than 3 and 4: the numbering
# plan's mobile ranges), then six digits; single spaces or dashes between digits; Arabic-Indic
# digits allowed.
PHONE_PATTERN = (
    "^(?:(?:[+]|"
    + _digit("0")
    + _SEP
    + _digit("0")
    + _SEP
    + ")?"
    + _SEP.join(_digit(d) for d in "962")
    + "|"
    + _digit("0")
    + ")"
    + _SEP
    + _digit("7")
    + _SEP
    + "(?:"
    + _digit("9")
    + _SEP
    + _ANY
    + "|"
    + _digit("78")
    + _SEP
    + _digit("0125789")
    + ")"
    + ("(?:" + _SEP + _ANY + ")")
    + "{6}$"
)
PHONE_EXAMPLES = ["0791234567", "+962 79 123 4567", "٠٧٩١٢٣٤٥٦٧"]


class InvalidPhone(ValueError):
    """The number cannot receive an SMS from the municipality; the text says why."""


def jordan_mobile(raw: str) -> str:
    """A Jordanian mobile number in E.164 (`+9627[789]XXXXXXX`), from any usual way of writing it.

    Accepts `07XXXXXXXX`, `+962 7X XXX XXXX`, `009627...`, `9627...`, with spaces, dashes,
    brackets, and Arabic-Indic digits. Raises InvalidPhone otherwise.
    """
    digits = "".join(raw.translate(_DIGITS).split()).replace("-", "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("962"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "JO")
    except phonenumbers.NumberParseException:
        raise InvalidPhone("not a phone number") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not JORDAN_MOBILE.match(e164) or not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a Jordanian mobile number (+9627[789]XXXXXXX)")
    return e164


def mask_phone(phone: str) -> str:
    """For logs and events: `+962791234567` -> `+96279*****67`; only the last two digits of an
    unrecognised number are kept."""
    if JORDAN_MOBILE.match(phone):
        return phone[:6] + "*" * (len(phone) - 8) + phone[-2:]
    digits = [character for character in phone if character.isdigit()]
    return "*" * max(len(digits) - 2, 3) + "".join(digits[-2:])
