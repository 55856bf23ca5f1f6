"""The application: what an applicant asks for, the catalogue it is checked against, and the
form's rules (every bad field named at once) and fees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts import LocalizedText
from contracts.training import GisCourse
from services.common.errors import FieldError, RuleBroken
from services.training.domain.dates import local_date
from services.training.domain.workflow import MAX_DAYS_AHEAD, MAX_PERIOD_DAYS


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Kind(StrEnum):
    TRAINING = "training"
    MISSION = "mission"


class ApplicantType(StrEnum):
    NOMINATED = "nominated"  # a student or delegate nominated by an institution: free
    INDIVIDUAL = "individual"  # applies in their own name: pays a GIS course


class InstitutionType(StrEnum):
    MINISTRY = "ministry"
    UNIVERSITY = "university"
    SYNDICATE = "syndicate"
    VOCATIONAL_CENTRE = "vocational_centre"
    GOVERNMENT_BODY = "government_body"


class CertificateType(StrEnum):
    BACHELOR = "bachelor"
    DIPLOMA = "diploma"
    TAWJIHI = "tawjihi"


# ---- the catalogue ---------------------------------------------------------------------------


class Department(Record):
    code: str
    name: LocalizedText
    paid_courses_for_individuals: bool = False


class Catalogue(Record):
    departments: tuple[Department, ...]
    gis_courses: tuple[GisCourse, ...]

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)

    def course(self, code: str) -> GisCourse | None:
        return next((c for c in self.gis_courses if c.code == code), None)


# ---- the application -------------------------------------------------------------------------


AttachmentKind = Literal["official_letter", "certificate"]


class Application(Record):
    """What the applicant asked for, checked (see `check_application`)."""

    kind: Kind
    applicant_type: ApplicantType
    institution_type: InstitutionType | None = None
    institution_name: str | None = None
    certificate_type: CertificateType | None = None
    department_code: str
    department: LocalizedText
    course: GisCourse | None = None
    study_subject: str | None = None
    start_date: date
    end_date: date

    @property
    def fee_fils(self) -> int:
        return 0 if self.course is None else self.course.fee_fils

    @property
    def attachment_kind(self) -> AttachmentKind:
        return (
            "official_letter" if self.applicant_type is ApplicantType.NOMINATED else "certificate"
        )


@dataclass(frozen=True)
class ApplicationForm:
    kind: Kind
    applicant_type: ApplicantType
    department_code: str
    start_date: date
    end_date: date
    institution_type: InstitutionType | None = None
    institution_name: str | None = None
    certificate_type: CertificateType | None = None
    course_code: str | None = None
    study_subject: str | None = None


class InvalidApplication(RuleBroken):
    """Some fields of the form break its rules: all of them, named (422)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(
            "Some fields of the request are not acceptable.",
            "بعض حقول الطلب غير مقبولة.",
            errors,
        )


def check_application(form: ApplicationForm, catalogue: Catalogue, now: datetime) -> Application:
    """Every rule of the form at once; all bad fields are named together."""
    errors: list[FieldError] = []

    def bad(field: str, en: str, ar: str) -> None:
        errors.append(FieldError(field, en, ar))

    department = catalogue.department(form.department_code)
    if department is None:
        bad("department_code", "No such department.", "لا توجد دائرة بهذا الرمز.")
    if form.applicant_type is ApplicantType.NOMINATED:
        if form.institution_type is None:
            bad("institution_type", "Name the type of the nominating institution.",
                "حدد نوع الجهة المنسِّبة.")  # fmt: skip
        if not form.institution_name:
            bad("institution_name", "Name the nominating institution.", "اذكر اسم الجهة المنسِّبة.")
        if form.certificate_type is not None:
            bad("certificate_type", "A nominated applicant attaches the institution's letter, "
                "not a certificate.", "يرفق المنسَّب كتاب الجهة لا صورة الشهادة.")  # fmt: skip
    else:
        if form.certificate_type is None:
            bad("certificate_type", "Say which certificate is attached (bachelor, diploma, "
                "tawjihi).", "حدد نوع الشهادة المرفقة (بكالوريوس، دبلوم، توجيهي).")  # fmt: skip
        if form.institution_type is not None or form.institution_name:
            bad("institution_type", "An individual applies without a nominating institution.",
                "يتقدم الفرد دون جهة منسِّبة.")  # fmt: skip
    course: GisCourse | None = None
    pays = (
        form.kind is Kind.TRAINING
        and form.applicant_type is ApplicantType.INDIVIDUAL
        and department is not None
        and department.paid_courses_for_individuals
    )
    if pays:
        if form.course_code is None:
            bad("course_code", "Choose the GIS course.", "اختر دورة نظم المعلومات الجغرافية.")
        else:
            course = catalogue.course(form.course_code)
            if course is None:
                bad("course_code", "No such GIS course.", "لا توجد دورة بهذا الرمز.")
    elif form.course_code is not None:
        bad(
            "course_code",
            "A course is chosen only by an individual training in the GIS department.",
            "تُختار الدورة فقط لتدريب الأفراد في دائرة نظم المعلومات الجغرافية.",
        )
    if form.kind is Kind.MISSION and not form.study_subject:
        bad("study_subject", "A mission needs the study's subject.", "اذكر موضوع الدراسة.")
    if form.kind is Kind.TRAINING and form.study_subject:
        bad("study_subject", "Only a mission has a study subject.", "موضوع الدراسة للمهمة فقط.")
    today = local_date(now)
    if form.start_date <= today:
        bad("start_date", "The period must start after today.", "يجب أن تبدأ المدة بعد اليوم.")
    elif (form.start_date - today).days > MAX_DAYS_AHEAD:
        bad("start_date", "The period must start within a year.",
            "يجب أن تبدأ المدة خلال سنة.")  # fmt: skip
    if form.end_date < form.start_date:
        bad("end_date", "The period cannot end before it starts.",
            "لا يجوز أن تنتهي المدة قبل بدايتها.")  # fmt: skip
    elif (form.end_date - form.start_date).days + 1 > MAX_PERIOD_DAYS:
        bad("end_date", f"The period is at most {MAX_PERIOD_DAYS} days.",
            f"لا تتجاوز المدة {MAX_PERIOD_DAYS} يوماً.")  # fmt: skip
    if errors:
        raise InvalidApplication(errors)
    assert department is not None
    return Application(
        kind=form.kind,
        applicant_type=form.applicant_type,
        institution_type=form.institution_type,
        institution_name=form.institution_name,
        certificate_type=form.certificate_type,
        department_code=department.code,
        department=department.name,
        course=course,
        study_subject=form.study_subject,
        start_date=form.start_date,
        end_date=form.end_date,
    )
