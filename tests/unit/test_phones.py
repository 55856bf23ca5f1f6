"""One phone rule (contracts/phones.py) for every service that takes or sends to a phone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.phones import InvalidPhone, jordan_mobile, mask_phone
from services.courses.api import ApplicantIn
from services.exams.domain import normalise_phone as exams_phone
from services.notifier.domain import normalise_phone as notifier_phone

ACCEPTED = {
    "0791234567": "+962791234567",
    "079-123-4567": "+962791234567",
    "+962 79 123 4567": "+962791234567",
    "00962791234567": "+962791234567",
    "962791234567": "+962791234567",
    "٠٧٩١٢٣٤٥٦٧": "+962791234567",
    "0771234567": "+962771234567",
}
REFUSED = ["", "call me", "079123456", "07912345678", "0761234567", "+96265123456"]


@pytest.mark.parametrize(("typed", "e164"), ACCEPTED.items())
def test_every_service_accepts_the_same_forms(typed: str, e164: str) -> None:
    assert jordan_mobile(typed) == e164
    assert exams_phone(typed) == e164
    assert notifier_phone(typed) == e164
    applicant = ApplicantIn(name="Test", phone=typed, national_id="9991234567")
    assert applicant.phone == e164


@pytest.mark.parametrize("typed", REFUSED)
def test_every_service_refuses_the_same_numbers(typed: str) -> None:
    with pytest.raises(InvalidPhone):
        jordan_mobile(typed)
    assert exams_phone(typed) is None
    with pytest.raises(InvalidPhone):
        notifier_phone(typed)
    with pytest.raises(ValidationError):
        ApplicantIn(name="Test", phone=typed, national_id="9991234567")


def test_logs_see_a_masked_number() -> None:
    assert mask_phone("+962791234567") == "+96279*****67"
    assert mask_phone("12345") == "***45"
