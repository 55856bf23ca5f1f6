"""The request form: every bad field is named at once, in Arabic and English; the forms people
really type are accepted."""

from __future__ import annotations

import pytest

from services.common.errors import RuleBroken
from services.exams import domain
from services.exams.domain import ExamType, IdType
from tests.unit.exams.builders import CATALOGUE, OFFICIAL, form


def errors_of(**changes: object) -> dict[str, str]:
    with pytest.raises(RuleBroken) as refused:
        domain.check_application(form(**changes), CATALOGUE)
    return {error.field: error.type for error in refused.value.errors}


def test_every_bad_field_is_named_at_once() -> None:
    assert errors_of(
        exam_code="no-such-exam", applicant_name="Layla", id_number="12345", phone="065000000"
    ) == {
        "exam_code": "unknown_exam",
        "applicant_name": "full_name",
        "id_number": "id_number_format",
        "phone": "jordan_mobile",
    }


def test_each_error_has_an_arabic_and_an_english_message() -> None:
    with pytest.raises(RuleBroken) as refused:
        domain.check_application(form(phone="123"), CATALOGUE)

    (error,) = refused.value.errors
    assert error.as_problem_item() == {
        "field": "phone",
        "location": "body",
        "message": "Give a Jordanian mobile number, e.g. 0791234567",
        "message_ar": "أدخل رقم هاتف خلوي أردني، مثل 0791234567",
        "type": "jordan_mobile",
    }


def test_the_exam_must_be_of_the_type_chosen() -> None:
    assert errors_of(exam_code=OFFICIAL, exam_type=ExamType.TRIAL) == {
        "exam_code": "exam_type_mismatch"
    }


@pytest.mark.parametrize(
    "phone",
    [
        "0791234567",
        "+962791234567",
        "00962791234567",
        "962 79 123 4567",
        "079-123-4567",
        "٠٧٩١٢٣٤٥٦٧",
    ],
)
def test_a_jordanian_mobile_number_in_any_usual_form_is_kept_in_e164(phone: str) -> None:
    application = domain.check_application(form(phone=phone), CATALOGUE)

    assert application.applicant.phone == "+962791234567"


@pytest.mark.parametrize("phone", ["065000000", "+966501234567", "07912345", "abc"])
def test_a_landline_a_foreign_or_a_short_number_is_refused(phone: str) -> None:
    assert errors_of(phone=phone) == {"phone": "jordan_mobile"}


@pytest.mark.parametrize(
    ("id_type", "raw", "kept"),
    [
        (IdType.NATIONAL_NUMBER, "٩٨٧١٠١٢٣٤٥", "9871012345"),
        (IdType.NATIONAL_NUMBER, "987 101 2345", "9871012345"),
        (IdType.PERSONAL_NUMBER, "ab12345", "AB12345"),
    ],
)
def test_identity_numbers_are_normalised(id_type: IdType, raw: str, kept: str) -> None:
    application = domain.check_application(form(id_type=id_type, id_number=raw), CATALOGUE)

    assert application.applicant.national_id == kept


@pytest.mark.parametrize(
    ("id_type", "raw"),
    [
        (IdType.NATIONAL_NUMBER, "98710123"),
        (IdType.NATIONAL_NUMBER, "98710123AB"),
        (IdType.PERSONAL_NUMBER, "A1"),
        (IdType.PERSONAL_NUMBER, "Ä1234567"),
    ],
)
def test_malformed_identity_numbers_are_refused(id_type: IdType, raw: str) -> None:
    assert errors_of(id_type=id_type, id_number=raw) == {"id_number": "id_number_format"}


@pytest.mark.parametrize(
    "name", ["عبدُ الرَّحمن أبو-الهيجاء", "Layla  Ahmad", "O'Neil Smith", "ليلى أحمد"]
)
def test_full_names_in_arabic_or_latin_letters_are_accepted(name: str) -> None:
    application = domain.check_application(form(applicant_name=name), CATALOGUE)

    assert "  " not in application.applicant.name


@pytest.mark.parametrize("name", ["Layla", "Layla 2", "<script> x", "- -"])
def test_a_single_word_digits_or_symbols_are_not_a_name(name: str) -> None:
    assert errors_of(applicant_name=name) == {"applicant_name": "full_name"}


def test_an_exam_no_longer_offered_cannot_be_asked_for() -> None:
    withdrawn = CATALOGUE.model_copy(
        update={
            "exams": tuple(
                exam.model_copy(update={"is_offered": exam.code != OFFICIAL})
                for exam in CATALOGUE.exams
            )
        }
    )
    with pytest.raises(RuleBroken):
        domain.check_application(form(exam_code=OFFICIAL, exam_type=ExamType.OFFICIAL), withdrawn)
