"""The request form: what the applicant typed, checked and normalised before a request exists.

Every bad field is reported at once (one `RuleBroken` with a `FieldError` each): the exam must be
in the catalogue and of the type chosen; the name, the identity number and the phone must be
valid, and are kept in one normal form (single spaces, ASCII digits, E.164).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from contracts import Applicant, Language, LocalizedText
from contracts.phones import InvalidPhone, jordan_mobile
from services.common.errors import FieldError, RuleBroken
from services.exams.domain.catalogue import Catalogue, CatalogueExam
from services.exams.domain.workflow import ExamType


class IdType(StrEnum):
    """How the applicant is identified: a Jordanian's national number, a resident's personal
    number."""

    NATIONAL_NUMBER = "national_number"
    PERSONAL_NUMBER = "personal_number"


@dataclass(frozen=True)
class ApplicationForm:
    """The request form as submitted (types already checked by the HTTP schema)."""

    exam_type: ExamType
    exam_code: str
    applicant_name: str
    id_type: IdType
    id_number: str
    phone: str
    lang: Language = "ar"


@dataclass(frozen=True)
class Application:
    """A checked form: the exam exists and is of the type chosen; name, number, phone are valid."""

    exam: CatalogueExam
    applicant: Applicant
    id_type: IdType


_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NAME_PUNCTUATION = frozenset(" '-.ـ")


def normalise_digits(text: str) -> str:
    """Arabic-Indic (and Persian) digits as ASCII, spaces and dashes dropped."""
    return "".join(text.translate(_ARABIC_DIGITS).split()).replace("-", "")


def normalise_phone(raw: str) -> str | None:
    """A Jordanian mobile number in E.164, or None if it is not one (the rule of
    contracts/phones.py, which the notifier applies too)."""
    try:
        return jordan_mobile(raw)
    except InvalidPhone:
        return None


def normalise_id_number(id_type: IdType, raw: str) -> str | None:
    """The identity number in its stored form, or None if it cannot be one.

    A Jordanian national number is 10 digits; a resident's personal number is 6 to 20 letters
    and digits (its formats vary by document), kept in capitals."""
    value = normalise_digits(raw).upper()
    if id_type is IdType.NATIONAL_NUMBER:
        return value if len(value) == 10 and value.isascii() and value.isdigit() else None
    return value if 6 <= len(value) <= 20 and value.isascii() and value.isalnum() else None


def normalise_name(raw: str) -> str | None:
    """A person's full name (at least two words of letters), single-spaced, or None."""
    name = " ".join(raw.split())
    words = name.split(" ")
    if len(words) < 2 or len(name) > 100:
        return None
    for char in name:
        category = unicodedata.category(char)
        if not (category.startswith(("L", "M")) or char in _NAME_PUNCTUATION):
            return None
    if not all(any(unicodedata.category(c).startswith("L") for c in word) for word in words):
        return None
    return name


def check_application(form: ApplicationForm, catalogue: Catalogue) -> Application:
    """The checked application, or `RuleBroken` naming every bad field at once."""
    errors: list[FieldError] = []
    exam = catalogue.exam(form.exam_code)
    if exam is None or not exam.is_offered:
        errors.append(
            FieldError(
                "exam_code",
                "There is no such exam in the catalogue (GET /v1/catalogue lists them)",
                "لا يوجد امتحان بهذا الرمز في قائمة الامتحانات",
                "unknown_exam",
            )
        )
    elif exam.type is not form.exam_type:
        errors.append(
            FieldError(
                "exam_code",
                f"This exam is a {exam.type.value} exam, not a {form.exam_type.value} one",
                "هذا الامتحان ليس من النوع المختار",
                "exam_type_mismatch",
            )
        )
    name = normalise_name(form.applicant_name)
    if name is None:
        errors.append(
            FieldError(
                "applicant_name",
                "Give the full name, at least two words of letters, up to 100 characters",
                "أدخل الاسم الكامل: كلمتان على الأقل من الأحرف، وبحد أقصى 100 حرف",
                "full_name",
            )
        )
    id_number = normalise_id_number(form.id_type, form.id_number)
    if id_number is None:
        errors.append(
            FieldError(
                "id_number",
                "A national number is 10 digits"
                if form.id_type is IdType.NATIONAL_NUMBER
                else "A personal number is 6 to 20 letters and digits",
                "الرقم الوطني يتكون من 10 أرقام"
                if form.id_type is IdType.NATIONAL_NUMBER
                else "الرقم الشخصي يتكون من 6 إلى 20 حرفاً ورقماً",
                "id_number_format",
            )
        )
    phone = normalise_phone(form.phone)
    if phone is None:
        errors.append(
            FieldError(
                "phone",
                "Give a Jordanian mobile number, e.g. 0791234567",
                "أدخل رقم هاتف خلوي أردني، مثل 0791234567",
                "jordan_mobile",
            )
        )
    if errors:
        raise RuleBroken(
            f"{len(errors)} field(s) are invalid; see errors.",
            f"عدد الحقول غير الصالحة: {len(errors)}",
            errors,
        )
    assert exam is not None and name is not None and id_number is not None
    assert phone is not None
    return Application(
        exam=exam,
        applicant=Applicant(name=name, phone=phone, lang=form.lang, national_id=id_number),
        id_type=form.id_type,
    )


def documents_for(id_type: IdType) -> LocalizedText:
    """The identity documents a candidate brings to the exam and to collect the certificate."""
    if id_type is IdType.NATIONAL_NUMBER:
        return LocalizedText(
            ar="البطاقة الشخصية (الهوية) سارية المفعول", en="your valid Jordanian ID card"
        )
    return LocalizedText(
        ar="جواز السفر أو بطاقة الإقامة سارية المفعول",
        en="your valid passport or residence card",
    )
