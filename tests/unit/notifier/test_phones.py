"""Phone numbers: Jordanian mobiles in any usual form become E.164; nothing else is accepted."""

from __future__ import annotations

import pytest

from services.notifier.domain import InvalidPhone, mask_phone, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0791234567",
        "079 123 4567",
        "079-123-4567",
        "+962791234567",
        "+962 79 123 4567",
        "00962791234567",
        "962791234567",
        "(079) 1234567",
        "٠٧٩١٢٣٤٥٦٧",
    ],
)
def test_usual_forms_of_a_jordanian_mobile_become_e164(raw: str) -> None:
    assert normalise_phone(raw) == "+962791234567"


@pytest.mark.parametrize("prefix", ["077", "078", "079"])
def test_every_mobile_network_is_accepted(prefix: str) -> None:
    assert normalise_phone(f"{prefix}1234567") == f"+962{prefix[1:]}1234567"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("065123456", "Jordanian mobile"),  # an Amman landline
        ("0761234567", "Jordanian mobile"),  # no such mobile network
        ("07912345678", "Jordanian mobile"),  # a digit too many
        ("079123456", "Jordanian mobile"),  # a digit short
        ("+447700900123", "Jordanian mobile"),  # a foreign number
        ("call me", "not a phone number"),
        ("", "not a phone number"),
    ],
)
def test_anything_else_is_refused_with_the_reason(raw: str, why: str) -> None:
    with pytest.raises(InvalidPhone, match=why):
        normalise_phone(raw)


def test_a_mobile_is_masked_but_its_operator_and_last_two_digits() -> None:
    assert mask_phone("+962791234567") == "+96279*****67"


@pytest.mark.parametrize("raw", ["12345", "06-5123456", "not a number"])
def test_an_unrecognised_number_shows_only_its_last_two_digits(raw: str) -> None:
    masked = mask_phone(raw)

    digits = "".join(c for c in raw if c.isdigit())
    assert masked.endswith(digits[-2:])
    assert digits[:-2] not in masked or not digits[:-2]
