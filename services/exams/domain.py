"""Requests to sit an official or a trial exam, and official exam sessions (seed 004). Pure: no I/O.

What the seed says, step by step, lives here:

1. confirmed -> the fee is asked of payments (whose bill SMS carries the e-payment number);
2. paid, trial exam -> come any time during working hours to the Knowledge Station;
3. paid, official exam -> the request joins the exam's session; once the session has its minimum of
   paid candidates, the Knowledge Station agrees a date with the granting body, and must set it
   within one working week; date set -> SMS with the date and the identity documents to bring;
4. exam held and results reviewed -> passed: the certificate is ready for collection.

The workflows are declared once, as data (`REQUEST_WORKFLOW`, `SESSION_WORKFLOW` and the state
tables): transitions, the roles allowed to take each, labels, next steps and the SLA. The same
tables drive the transitions below, the API's role checks, the inquiry's labels, the README's
diagrams and the overdue sweeper. Each function takes the current aggregate and what happened,
and returns the new aggregate with the events to publish (a `RequestChange` / `SessionChange`),
or raises one of the errors below.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import (
    Applicant,
    ContractModel,
    Language,
    LocalizedText,
    PaymentCancelled,
    PaymentRequested,
    RefundRequested,
    reference,
    reference_parts,
)
from contracts.exams import (
    ExamAbsenceRecorded,
    ExamAttendanceRecorded,
    ExamCentre,
    ExamCertificateCollected,
    ExamDetails,
    ExamRequestCancelled,
    ExamRequestPaid,
    ExamRequestScheduled,
    ExamRequestSubmitted,
    ExamResultRecorded,
    ExamSessionMinimumReached,
    ExamSessionOverdue,
    ExamSessionScheduled,
)
from contracts.phones import InvalidPhone, jordan_mobile
from services.common.calendar import WorkingCalendar
from services.common.errors import DomainError as DomainError
from services.common.errors import FieldError as FieldError
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import NotPermitted as NotPermitted
from services.common.errors import RuleBroken as RuleBroken
from services.common.errors import Unknown as Unknown
from services.common.workflow import Actor as Actor
from services.common.workflow import Fee as Fee
from services.common.workflow import State as State
from services.common.workflow import Step as Step
from services.common.workflow import TimelineEntry as TimelineEntry
from services.common.workflow import final_states as final_states
from services.common.workflow import move_of
from services.common.workflow import roles_for as roles_for
from services.common.workflow import state_diagram as state_diagram
from services.common.workflow import states_table as states_table
from services.common.workflow import steps as steps
from services.common.workflow import system as system
from services.common.workflow import transitions_table as transitions_table

SERVICE = "exams"
REQUEST_PREFIX = "EX"
SESSION_PREFIX = "ES"
FEE_PURPOSE = "fee"
SERVICE_TYPE = "exams.exam_fee"
AMMAN = ZoneInfo("Asia/Amman")

# The roles of the workflow tables. `system` is the service itself, acting on another service's
# event (a bill paid or expired) or on a deadline.
CITIZEN = "citizen"
COORDINATOR = "exams.coordinator"
SYSTEM = "system"

# Seed 004: "the exam date is confirmed ... within at most one working week".
DATE_SLA_WORKING_DAYS = 5


class ExamType(StrEnum):
    OFFICIAL = "official"
    TRIAL = "trial"


class IdType(StrEnum):
    """How the applicant is identified: a Jordanian's national number, a resident's personal
    number."""

    NATIONAL_NUMBER = "national_number"
    PERSONAL_NUMBER = "personal_number"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class RequestStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    READY_TO_SIT = "ready_to_sit"
    AWAITING_SESSION = "awaiting_session"
    SCHEDULED = "scheduled"
    AWAITING_RESULT = "awaiting_result"
    CERTIFICATE_READY = "certificate_ready"
    CERTIFICATE_COLLECTED = "certificate_collected"
    FAILED = "failed"
    ABSENT = "absent"
    CANCELLED = "cancelled"


class RequestAction(StrEnum):
    SUBMIT = "submit"
    PAY = "pay"
    EXPIRE = "expire"
    WITHDRAW = "withdraw"
    CANCEL = "cancel"
    REFUND_LATE_PAYMENT = "refund_late_payment"
    JOIN_SESSION = "join_session"
    SCHEDULE = "schedule"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_ABSENCE = "record_absence"
    RECORD_RESULT = "record_result"
    RECORD_COLLECTION = "record_collection"


class SessionStatus(StrEnum):
    OPEN = "open"
    AWAITING_DATE = "awaiting_date"
    SCHEDULED = "scheduled"


class SessionAction(StrEnum):
    OPEN = "open"
    ADMIT = "admit"
    REACH_MINIMUM = "reach_minimum"
    MARK_OVERDUE = "mark_overdue"
    SCHEDULE = "schedule"


# ---- the workflows, as data ------------------------------------------------------------------


_PAYMENTS = "payments"

REQUEST_WORKFLOW: tuple[Step, ...] = (
    Step(
        RequestAction.SUBMIT,
        None,
        RequestStatus.AWAITING_PAYMENT,
        (CITIZEN,),
        "Request confirmed; fee requested",
        "تم تأكيد الطلب وطلب دفع الرسوم",
        "the applicant confirms the request (POST /v1/requests)",
    ),
    Step(
        RequestAction.PAY,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.READY_TO_SIT,
        (SYSTEM,),
        "Fee paid; come any time during working hours",
        "تم دفع الرسوم؛ الحضور في أي وقت خلال الدوام الرسمي",
        "payments.bill.paid.v1",
        branch=ExamType.TRIAL,
    ),
    Step(
        RequestAction.PAY,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.AWAITING_SESSION,
        (SYSTEM,),
        "Fee paid; waiting for the session to be complete",
        "تم دفع الرسوم؛ بانتظار اكتمال الحد الأدنى لجلسة الامتحان",
        "payments.bill.paid.v1",
        branch=ExamType.OFFICIAL,
    ),
    Step(
        RequestAction.EXPIRE,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.CANCELLED,
        (SYSTEM,),
        "Cancelled: the fee was not paid in time",
        "أُلغي الطلب لعدم دفع الرسوم في الموعد المحدد",
        "payments.bill.expired.v1",
    ),
    Step(
        RequestAction.WITHDRAW,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.CANCELLED,
        (CITIZEN,),
        "Withdrawn by the applicant",
        "سحب مقدم الطلب طلبه",
        "the applicant withdraws the unpaid request (POST /v1/requests/{number}/withdrawal)",
    ),
    Step(
        RequestAction.CANCEL,
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.CANCELLED,
        (SYSTEM,),
        "Cancelled: the bill was cancelled",
        "أُلغي الطلب لإلغاء فاتورة الرسوم",
        "payments.bill.cancelled.v1",
    ),
    Step(
        RequestAction.REFUND_LATE_PAYMENT,
        RequestStatus.CANCELLED,
        RequestStatus.CANCELLED,
        (SYSTEM,),
        "Paid after cancellation; refund requested",
        "دُفعت الرسوم بعد الإلغاء؛ طُلب استرداد المبلغ",
        "payments.bill.paid.v1 for a cancelled request",
    ),
    Step(
        RequestAction.JOIN_SESSION,
        RequestStatus.AWAITING_SESSION,
        RequestStatus.AWAITING_SESSION,
        (SYSTEM,),
        "Joined the exam session",
        "انضم الطلب إلى جلسة الامتحان",
        "payments.bill.paid.v1, once the session has a seat for it",
    ),
    Step(
        RequestAction.SCHEDULE,
        RequestStatus.AWAITING_SESSION,
        RequestStatus.SCHEDULED,
        (SYSTEM,),
        "Exam date set",
        "تم تحديد موعد الامتحان",
        "exams.session.scheduled.v1 (a coordinator set the session's date)",
    ),
    Step(
        RequestAction.RECORD_ATTENDANCE,
        RequestStatus.READY_TO_SIT,
        RequestStatus.AWAITING_RESULT,
        (COORDINATOR,),
        "Sat the exam",
        "تم عقد الامتحان",
        "a coordinator records attendance",
        branch=ExamType.TRIAL,
    ),
    Step(
        RequestAction.RECORD_ATTENDANCE,
        RequestStatus.SCHEDULED,
        RequestStatus.AWAITING_RESULT,
        (COORDINATOR,),
        "Sat the exam",
        "تم عقد الامتحان",
        "a coordinator records attendance, on or after the exam day",
        branch=ExamType.OFFICIAL,
    ),
    Step(
        RequestAction.RECORD_ABSENCE,
        RequestStatus.SCHEDULED,
        RequestStatus.ABSENT,
        (COORDINATOR,),
        "Did not attend the exam",
        "لم يحضر الامتحان",
        "a coordinator records absence, after the exam started",
    ),
    Step(
        RequestAction.RECORD_RESULT,
        RequestStatus.AWAITING_RESULT,
        RequestStatus.CERTIFICATE_READY,
        (COORDINATOR,),
        "Passed; certificate ready for collection",
        "ناجح؛ الشهادة جاهزة للاستلام",
        "a coordinator records the reviewed result",
        branch=Outcome.PASSED,
    ),
    Step(
        RequestAction.RECORD_RESULT,
        RequestStatus.AWAITING_RESULT,
        RequestStatus.FAILED,
        (COORDINATOR,),
        "Did not pass",
        "لم يحالفه النجاح",
        "a coordinator records the reviewed result",
        branch=Outcome.FAILED,
    ),
    Step(
        RequestAction.RECORD_COLLECTION,
        RequestStatus.CERTIFICATE_READY,
        RequestStatus.CERTIFICATE_COLLECTED,
        (COORDINATOR,),
        "Certificate collected",
        "تم استلام الشهادة",
        "a coordinator hands the certificate over",
    ),
)

_APPLY_AGAIN_EN = "You may submit a new request at www.amman.jo."
_APPLY_AGAIN_AR = "يمكنكم تقديم طلب جديد عبر www.amman.jo."

REQUEST_STATES: Mapping[str, State] = {
    RequestStatus.AWAITING_PAYMENT: State(
        "Awaiting payment",
        "بانتظار دفع الرسوم",
        "Pay the fee of {fee} JOD with the e-payment number sent to you by SMS, by {due}.",
        "ادفع الرسوم ({fee} دينار) باستخدام رقم الدفع الإلكتروني المرسل إليك برسالة نصية "
        "قبل {due}.",
    ),
    RequestStatus.READY_TO_SIT: State(
        "Ready to sit the trial exam",
        "جاهز لعقد الامتحان التجريبي",
        "Come to {centre} any time during working hours ({hours}) to sit the exam.",
        "احضر إلى {centre} في أي وقت خلال أوقات الدوام الرسمي ({hours}) لعقد الامتحان.",
    ),
    RequestStatus.AWAITING_SESSION: State(
        "Waiting for the exam session",
        "بانتظار جلسة الامتحان",
        "Wait for the session to have {minimum} paid candidates; its date is then set within "
        "one working week and sent to you by SMS.",
        "انتظر اكتمال الحد الأدنى لجلسة الامتحان ({minimum} متقدمين)، ثم يُحدد موعدها خلال "
        "أسبوع عمل ويُرسل إليك برسالة نصية.",
        sla_working_days=DATE_SLA_WORKING_DAYS,
    ),
    RequestStatus.SCHEDULED: State(
        "Exam date set",
        "تم تحديد موعد الامتحان",
        "Sit the exam on {exam_at} at {venue}; bring {documents}.",
        "احضر الامتحان في {exam_at} في {venue}، مع إحضار {documents}.",
    ),
    RequestStatus.AWAITING_RESULT: State(
        "Awaiting the result",
        "بانتظار النتيجة",
        "Wait for the result: it is sent to you by SMS once reviewed.",
        "انتظر النتيجة: تُرسل إليك برسالة نصية بعد مراجعتها.",
    ),
    RequestStatus.CERTIFICATE_READY: State(
        "Certificate ready for collection",
        "الشهادة جاهزة للاستلام",
        "Collect your certificate from {centre} during working hours ({hours}); bring {documents}.",
        "استلم شهادتك من {centre} خلال أوقات الدوام الرسمي ({hours})، مع إحضار {documents}.",
    ),
    RequestStatus.CERTIFICATE_COLLECTED: State(
        "Certificate collected", "تم استلام الشهادة", is_final=True
    ),
    RequestStatus.FAILED: State(
        "Did not pass", "لم يحالفه النجاح", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True
    ),
    RequestStatus.ABSENT: State(
        "Absent from the exam", "غائب عن الامتحان", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True
    ),
    RequestStatus.CANCELLED: State(
        "Cancelled", "ملغى", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True
    ),
}

SESSION_WORKFLOW: tuple[Step, ...] = (
    Step(
        SessionAction.OPEN,
        None,
        SessionStatus.OPEN,
        (SYSTEM,),
        "Session opened",
        "فُتحت جلسة الامتحان",
        "the first paid candidate of an exam with no session taking candidates",
    ),
    Step(
        SessionAction.ADMIT,
        SessionStatus.OPEN,
        SessionStatus.OPEN,
        (SYSTEM,),
        "Candidate joined",
        "انضم متقدم إلى الجلسة",
        "a candidate paid",
    ),
    Step(
        SessionAction.REACH_MINIMUM,
        SessionStatus.OPEN,
        SessionStatus.AWAITING_DATE,
        (SYSTEM,),
        "Minimum reached; date due within one working week",
        "اكتمل الحد الأدنى؛ يُحدد الموعد خلال أسبوع عمل",
        "the candidate who completes the minimum paid",
    ),
    Step(
        SessionAction.ADMIT,
        SessionStatus.AWAITING_DATE,
        SessionStatus.AWAITING_DATE,
        (SYSTEM,),
        "Candidate joined",
        "انضم متقدم إلى الجلسة",
        "a candidate paid while seats are left",
    ),
    Step(
        SessionAction.MARK_OVERDUE,
        SessionStatus.AWAITING_DATE,
        SessionStatus.AWAITING_DATE,
        (SYSTEM,),
        "Date overdue",
        "تأخر تحديد الموعد عن المدة المحددة",
        "one working week passed without a date (the overdue sweeper)",
    ),
    Step(
        SessionAction.SCHEDULE,
        SessionStatus.AWAITING_DATE,
        SessionStatus.SCHEDULED,
        (COORDINATOR,),
        "Exam date set",
        "تم تحديد موعد الامتحان",
        "a coordinator sets the date agreed with the granting body",
    ),
)

SESSION_STATES: Mapping[str, State] = {
    SessionStatus.OPEN: State(
        "Taking candidates",
        "تستقبل المتقدمين",
        "Wait for {minimum} paid candidates ({candidates} so far).",
        "بانتظار اكتمال {minimum} متقدمين ممن دفعوا الرسوم (العدد الحالي {candidates}).",
    ),
    SessionStatus.AWAITING_DATE: State(
        "Awaiting a date",
        "بانتظار تحديد الموعد",
        "Agree a date with {granting_body} and set it by {due}.",
        "نسّق مع {granting_body} وحدد الموعد قبل {due}.",
        sla_working_days=DATE_SLA_WORKING_DAYS,
    ),
    SessionStatus.SCHEDULED: State(
        "Scheduled",
        "تم تحديد الموعد",
        "Hold the exam on {exam_at} at {venue}; record attendance and results.",
        "اعقد الامتحان في {exam_at} في {venue}، وسجّل الحضور والنتائج.",
    ),
}


def label_of(workflow: Sequence[Step], action: str) -> LocalizedText:
    return steps(workflow, action)[0].label


# ---- the catalogue ---------------------------------------------------------------------------


class Record(BaseModel):
    """Base of what is stored: immutable values, compared by content."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Centre(Record):
    code: str = Field(min_length=1)
    name: LocalizedText
    working_hours: LocalizedText

    def contract(self) -> ExamCentre:
        return ExamCentre(name=self.name, working_hours=self.working_hours)


class Subject(Record):
    """An exam subject: the seed sets the fee by subject."""

    code: str = Field(min_length=1)
    name: LocalizedText
    fee_fils: int = Field(gt=0)


class CatalogueExam(Record):
    code: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    type: ExamType
    name: LocalizedText
    subject: str
    centre: str
    granting_body: LocalizedText | None = None
    min_candidates: int | None = Field(default=None, ge=1)
    seats: int | None = Field(default=None, ge=1)
    is_offered: bool = True

    @model_validator(mode="after")
    def _official_needs_a_session(self) -> CatalogueExam:
        if self.type is ExamType.OFFICIAL:
            if self.granting_body is None or self.min_candidates is None or self.seats is None:
                raise ValueError(
                    f"official exam {self.code} needs granting_body, min_candidates and seats"
                )
            if self.seats < self.min_candidates:
                raise ValueError(f"exam {self.code}: seats must be at least min_candidates")
        elif self.min_candidates is not None or self.seats is not None:
            raise ValueError(f"trial exam {self.code} has no session: no min_candidates or seats")
        return self


class Catalogue(Record):
    """The exams the municipality offers, their subjects (and fees) and centres, as data."""

    centres: tuple[Centre, ...] = Field(min_length=1)
    subjects: tuple[Subject, ...] = Field(min_length=1)
    exams: tuple[CatalogueExam, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        for kind, codes in (
            ("centre", [c.code for c in self.centres]),
            ("subject", [s.code for s in self.subjects]),
            ("exam", [e.code for e in self.exams]),
        ):
            if len(codes) != len(set(codes)):
                raise ValueError(f"two {kind}s share a code")
        centres = {c.code for c in self.centres}
        subjects = {s.code for s in self.subjects}
        for exam in self.exams:
            if exam.subject not in subjects:
                raise ValueError(f"exam {exam.code}: no subject {exam.subject!r}")
            if exam.centre not in centres:
                raise ValueError(f"exam {exam.code}: no centre {exam.centre!r}")
        return self

    def exam(self, code: str) -> CatalogueExam | None:
        return next((exam for exam in self.exams if exam.code == code), None)

    def subject_of(self, exam: CatalogueExam) -> Subject:
        return next(subject for subject in self.subjects if subject.code == exam.subject)

    def centre_of(self, exam: CatalogueExam) -> Centre:
        return next(centre for centre in self.centres if centre.code == exam.centre)

    def fee_of(self, exam: CatalogueExam) -> int:
        return self.subject_of(exam).fee_fils

    def details(self, exam: CatalogueExam) -> ExamDetails:
        return ExamDetails(
            code=exam.code,
            type=exam.type.value,
            name=exam.name,
            subject=self.subject_of(exam).name,
            granting_body=exam.granting_body,
        )

    def offered(self) -> list[CatalogueExam]:
        return [exam for exam in self.exams if exam.is_offered]


# ---- the application: what the applicant typed, checked ------------------------------------


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


# ---- the aggregates --------------------------------------------------------------------------


class Result(Record):
    outcome: Outcome
    score: int | None = None
    note: str | None = None
    recorded_at: datetime


class ExamRequest(Record):
    request_number: str
    owner_subject: str
    exam: ExamDetails
    centre: ExamCentre
    applicant: Applicant
    id_type: IdType
    status: RequestStatus
    submitted_at: datetime
    fee: Fee
    session_minimum: int | None = None
    session_number: str | None = None
    exam_at: datetime | None = None
    venue: LocalizedText | None = None
    result: Result | None = None
    collected_at: datetime | None = None
    collected_by: str | None = None
    cancel_cause: Literal["payment_expired", "withdrawn", "bill_cancelled"] | None = None
    history: tuple[TimelineEntry, ...] = ()
    version: int = 0

    @property
    def exam_type(self) -> ExamType:
        return ExamType(self.exam.type)

    @property
    def needs_a_session(self) -> bool:
        """Paid for an official exam and not yet seated in a session."""
        return self.status is RequestStatus.AWAITING_SESSION and self.session_number is None

    @property
    def documents(self) -> LocalizedText:
        return documents_for(self.id_type)


class ExamSession(Record):
    """An official exam's session: candidates gather until the minimum, then a date is set."""

    session_number: str
    exam: ExamDetails
    centre: ExamCentre
    status: SessionStatus
    minimum: int
    seats: int
    candidates: tuple[str, ...] = ()
    opened_at: datetime
    minimum_reached_at: datetime | None = None
    date_due_at: datetime | None = None
    overdue_since: datetime | None = None
    exam_at: datetime | None = None
    venue: LocalizedText | None = None
    scheduled_at: datetime | None = None
    history: tuple[TimelineEntry, ...] = ()
    version: int = 0

    @property
    def is_accepting(self) -> bool:
        """Takes candidates until its date is set or its seats are taken."""
        return self.status is not SessionStatus.SCHEDULED and len(self.candidates) < self.seats

    @property
    def overdue_check_at(self) -> datetime | None:
        """When the overdue sweeper must look at it; None once it cannot become overdue."""
        if self.status is SessionStatus.AWAITING_DATE and self.overdue_since is None:
            return self.date_due_at
        return None

    def is_overdue(self, now: datetime) -> bool:
        return (
            self.status is SessionStatus.AWAITING_DATE
            and self.date_due_at is not None
            and now >= self.date_due_at
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


@dataclass(frozen=True)
class Raised:
    """An event a change produced: its routing key and its contract data."""

    routing_key: str
    data: ContractModel


@dataclass(frozen=True)
class RequestChange:
    request: ExamRequest
    events: tuple[Raised, ...] = ()
    is_noop: bool = False


@dataclass(frozen=True)
class SessionChange:
    session: ExamSession
    events: tuple[Raised, ...] = ()
    is_noop: bool = False


def _find(workflow: Sequence[Step], action: str, source: str | None, branch: str | None) -> Step:
    for step in workflow:
        if step.action == action and step.source == source and step.branch in (None, branch):
            return step
    label = label_of(workflow, action)
    raise NotAllowedNow(
        f"{label.en}: not possible while it is {source}",
        f"لا يمكن تنفيذ الإجراء ({label.ar}) في الحالة الحالية",
    )


def _moved(
    request: ExamRequest,
    action: RequestAction,
    actor: Actor,
    now: datetime,
    *,
    branch: str | None = None,
    why: str | None = None,
    **changes: object,
) -> ExamRequest:
    step = _find(REQUEST_WORKFLOW, action, request.status, branch)
    role = actor.role_for(step)
    entry = TimelineEntry(
        at=now,
        action=action,
        source=request.status,
        target=step.target,
        by=actor.subject,
        role=role,
        why=why,
    )
    return request.model_copy(
        update={
            "status": RequestStatus(step.target),
            "history": (*request.history, entry),
            **changes,
        }
    )


def _about(request: ExamRequest) -> dict[str, object]:
    """What every request event says about its request."""
    return {
        "request_number": request.request_number,
        "exam": request.exam,
        "applicant": request.applicant,
        "owner_subject": request.owner_subject,
    }


# ---- the request: submit, pay, cancel ------------------------------------------------------


def payment_reference(request_number: str) -> str:
    return reference(SERVICE, request_number, FEE_PURPOSE)


def request_number_of(value: str) -> str | None:
    """The request number of one of our fee references (`exams:<number>:fee`), else None."""
    parts = reference_parts(value)
    return parts[1] if parts is not None and parts[::2] == (SERVICE, FEE_PURPOSE) else None


def payment_due(calendar: WorkingCalendar, now: datetime, working_days: int) -> datetime:
    """The fee is payable up to the last second of the n-th working day after confirmation
    (payments' `due_at` is the last instant a bill can be paid)."""
    return calendar.deadline_after(now, working_days) - timedelta(seconds=1)


def fee_description(exam: CatalogueExam) -> LocalizedText:
    """What the bill is for: the exam's name, which the bill's SMS shows (its first 30 letters)."""
    return LocalizedText(ar=f"رسوم {exam.name.ar}", en=f"{exam.name.en} fee")


def submit(
    application: Application,
    catalogue: Catalogue,
    *,
    request_number: str,
    owner: Actor,
    now: datetime,
    payment_due_at: datetime,
) -> RequestChange:
    """Seed 004, step 1: the confirmed request asks payments for the fee of its subject."""
    step = _find(REQUEST_WORKFLOW, RequestAction.SUBMIT, None, None)
    role = owner.role_for(step)
    exam = application.exam
    fee = catalogue.fee_of(exam)
    details = catalogue.details(exam)
    centre = catalogue.centre_of(exam).contract()
    reference = payment_reference(request_number)
    request = ExamRequest(
        request_number=request_number,
        owner_subject=owner.subject,
        exam=details,
        centre=centre,
        applicant=application.applicant,
        id_type=application.id_type,
        status=RequestStatus(step.target),
        submitted_at=now,
        fee=Fee(payment_reference=reference, amount_fils=fee, due_at=payment_due_at),
        session_minimum=exam.min_candidates,
        history=(
            TimelineEntry(
                at=now,
                action=RequestAction.SUBMIT,
                source=None,
                target=step.target,
                by=owner.subject,
                role=role,
            ),
        ),
    )
    submitted = ExamRequestSubmitted(
        **_about(request),
        centre=centre,
        fee_fils=fee,
        payment_reference=reference,
        payment_due_at=payment_due_at,
        submitted_at=now,
    )
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request_number,
        amount_fils=fee,
        description=fee_description(exam),
        due_at=payment_due_at,
        payer=application.applicant,
        service_type=SERVICE_TYPE,
        owner_subject=owner.subject,
    )
    return RequestChange(
        request,
        (
            Raised("exams.request.submitted.v1", submitted),
            Raised("exams.payment.requested.v1", payment),
        ),
    )


@dataclass(frozen=True)
class PaymentMade:
    """What payments said about the fee (payments.bill.paid.v1)."""

    e_payment_number: str
    amount_fils: int
    paid_at: datetime


def record_bill(request: ExamRequest, reference: str, e_payment_number: str) -> RequestChange:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the request's current fee, once; no event."""
    if (
        request.status is not RequestStatus.AWAITING_PAYMENT
        or request.fee.payment_reference != reference
        or request.fee.e_payment_number is not None
    ):
        return RequestChange(request, is_noop=True)
    fee = request.fee.model_copy(update={"e_payment_number": e_payment_number})
    return RequestChange(request.model_copy(update={"fee": fee}))


def record_payment(request: ExamRequest, paid: PaymentMade, now: datetime) -> RequestChange:
    """Seed 004, steps 2 and 3: the fee is paid; the branch is the exam's type.

    Paid again (a redelivered or repeated event) changes nothing. Paid after the request was
    cancelled (the citizen withdrew while the payment was on its way): the money is asked back,
    once."""
    if request.status is RequestStatus.CANCELLED:
        if request.fee.refund_requested_at is not None:
            return RequestChange(request, is_noop=True)
        return _refund_late_payment(request, paid, now)
    if request.status is not RequestStatus.AWAITING_PAYMENT:
        return RequestChange(request, is_noop=True)
    fee = request.fee.model_copy(
        update={"e_payment_number": paid.e_payment_number, "paid_at": paid.paid_at}
    )
    moved = _moved(
        request, RequestAction.PAY, system(_PAYMENTS), now, branch=request.exam_type, fee=fee
    )
    event = ExamRequestPaid(
        **_about(request),
        centre=request.centre,
        e_payment_number=paid.e_payment_number,
        amount_fils=paid.amount_fils,
        paid_at=paid.paid_at,
        session_minimum=request.session_minimum,
    )
    return RequestChange(moved, (Raised("exams.request.paid.v1", event),))


def _refund_late_payment(request: ExamRequest, paid: PaymentMade, now: datetime) -> RequestChange:
    fee = request.fee.model_copy(
        update={
            "e_payment_number": paid.e_payment_number,
            "paid_at": paid.paid_at,
            "refund_requested_at": now,
        }
    )
    moved = _moved(
        request,
        RequestAction.REFUND_LATE_PAYMENT,
        system(_PAYMENTS),
        now,
        why=f"e-payment number {paid.e_payment_number}",
        fee=fee,
    )
    refund = RefundRequested(
        payment_reference=request.fee.payment_reference,
        refund_reference=f"{SERVICE}:{request.request_number}:late_payment_refund",
        request_number=request.request_number,
        amount_fils=paid.amount_fils,
        reason=LocalizedText(
            ar="دُفعت الرسوم بعد إلغاء طلب الامتحان",
            en="Fee paid after the exam request was cancelled",
        ),
        needs_approval=False,
        payer=request.applicant,
    )
    return RequestChange(moved, (Raised("exams.refund.requested.v1", refund),))


def _cancelled(
    request: ExamRequest,
    action: RequestAction,
    actor: Actor,
    now: datetime,
    cause: Literal["payment_expired", "withdrawn", "bill_cancelled"],
    why: str | None = None,
) -> tuple[ExamRequest, Raised]:
    moved = _moved(request, action, actor, now, why=why, cancel_cause=cause)
    event = ExamRequestCancelled(
        **_about(request), cause=cause, payment_due_at=request.fee.due_at, at=now
    )
    return moved, Raised("exams.request.cancelled.v1", event)


def expire(request: ExamRequest, now: datetime) -> RequestChange:
    """The bill expired unpaid: the request is cancelled, and the applicant told so."""
    if request.status is not RequestStatus.AWAITING_PAYMENT:
        return RequestChange(request, is_noop=True)
    moved, event = _cancelled(
        request, RequestAction.EXPIRE, system(_PAYMENTS), now, "payment_expired"
    )
    return RequestChange(moved, (event,))


def bill_cancelled(request: ExamRequest, now: datetime) -> RequestChange:
    """Payments cancelled the unpaid bill. After a withdrawal the request is already cancelled
    (and the applicant already told): nothing more happens."""
    if request.status is not RequestStatus.AWAITING_PAYMENT:
        return RequestChange(request, is_noop=True)
    moved, event = _cancelled(
        request, RequestAction.CANCEL, system(_PAYMENTS), now, "bill_cancelled"
    )
    return RequestChange(moved, (event,))


def withdraw(request: ExamRequest, actor: Actor, now: datetime, why: str | None) -> RequestChange:
    """The applicant withdraws an unpaid request; payments is asked to cancel the bill."""
    moved, event = _cancelled(request, RequestAction.WITHDRAW, actor, now, "withdrawn", why)
    cancel = PaymentCancelled(
        payment_reference=request.fee.payment_reference,
        request_number=request.request_number,
        reason="the applicant withdrew the exam request",
    )
    return RequestChange(moved, (event, Raised("exams.payment.cancelled.v1", cancel)))


# ---- the request: session, attendance, result, collection ----------------------------------


def join_session(request: ExamRequest, session_number: str, now: datetime) -> RequestChange:
    """Record the session that seated the candidate; once only."""
    if request.session_number is not None or request.status is not RequestStatus.AWAITING_SESSION:
        return RequestChange(request, is_noop=True)
    moved = _moved(
        request,
        RequestAction.JOIN_SESSION,
        system(SERVICE),
        now,
        why=session_number,
        session_number=session_number,
    )
    return RequestChange(moved)


def schedule(request: ExamRequest, session: ExamSession, now: datetime) -> RequestChange:
    """The session's date was set: the candidate is told when, where and what to bring.

    The session's candidate list is the truth of who sits it, so a candidate the session seated
    is scheduled even before `join_session` recorded the number on the request."""
    if request.status is not RequestStatus.AWAITING_SESSION:
        return RequestChange(request, is_noop=True)
    if session.exam_at is None or session.venue is None:
        raise NotAllowedNow(
            f"session {session.session_number} has no date yet",
            f"لم يُحدد موعد الجلسة {session.session_number} بعد",
        )
    if request.request_number not in session.candidates:
        raise NotAllowedNow(
            f"{request.request_number} is not a candidate of {session.session_number}",
            f"الطلب {request.request_number} ليس من متقدمي الجلسة {session.session_number}",
        )
    moved = _moved(
        request,
        RequestAction.SCHEDULE,
        system(SERVICE),
        now,
        why=session.session_number,
        session_number=session.session_number,
        exam_at=session.exam_at,
        venue=session.venue,
    )
    event = ExamRequestScheduled(
        **_about(request),
        session_number=session.session_number,
        exam_at=session.exam_at,
        venue=session.venue,
        documents=request.documents,
    )
    return RequestChange(moved, (Raised("exams.request.scheduled.v1", event),))


def _amman_day(instant: datetime) -> str:
    return instant.astimezone(AMMAN).strftime("%d/%m/%Y")


def record_attendance(
    request: ExamRequest, actor: Actor, now: datetime, why: str | None
) -> RequestChange:
    """The candidate sat the exam (a trial any day; an official one on or after its day)."""
    if (
        request.status is RequestStatus.SCHEDULED
        and request.exam_at is not None
        and now.astimezone(AMMAN).date() < request.exam_at.astimezone(AMMAN).date()
    ):
        day = _amman_day(request.exam_at)
        raise RuleBroken(
            f"the exam is on {day}: attendance is recorded on or after that day",
            f"موعد الامتحان {day}: يُسجل الحضور في ذلك اليوم أو بعده",
        )
    moved = _moved(
        request, RequestAction.RECORD_ATTENDANCE, actor, now, branch=request.exam_type, why=why
    )
    event = ExamAttendanceRecorded(**_about(request), session_number=request.session_number, at=now)
    return RequestChange(moved, (Raised("exams.request.attendance_recorded.v1", event),))


def record_absence(
    request: ExamRequest, actor: Actor, now: datetime, why: str | None
) -> RequestChange:
    """The candidate did not come to the official session (recorded once the exam started)."""
    if (
        request.status is RequestStatus.SCHEDULED
        and request.exam_at is not None
        and now < request.exam_at
    ):
        raise RuleBroken(
            "the exam has not started yet: absence is recorded after it starts",
            "لم يبدأ الامتحان بعد: يُسجل الغياب بعد بدئه",
        )
    moved = _moved(request, RequestAction.RECORD_ABSENCE, actor, now, why=why)
    assert request.session_number is not None and request.exam_at is not None
    event = ExamAbsenceRecorded(
        **_about(request), session_number=request.session_number, exam_at=request.exam_at, at=now
    )
    return RequestChange(moved, (Raised("exams.request.absence_recorded.v1", event),))


def record_result(
    request: ExamRequest,
    actor: Actor,
    now: datetime,
    *,
    outcome: Outcome,
    score: int | None,
    note: str | None,
) -> RequestChange:
    """Seed 004, step 4: the reviewed result. Passed: the certificate is ready for collection.
    Failed (the seed is silent): the candidate is told too."""
    result = Result(outcome=outcome, score=score, note=note, recorded_at=now)
    moved = _moved(
        request, RequestAction.RECORD_RESULT, actor, now, branch=outcome, why=note, result=result
    )
    event = ExamResultRecorded(
        **_about(request),
        outcome=outcome.value,
        score=score,
        centre=request.centre,
        documents=request.documents,
        recorded_at=now,
    )
    return RequestChange(moved, (Raised("exams.request.result_recorded.v1", event),))


def record_collection(
    request: ExamRequest, actor: Actor, now: datetime, *, collected_by: str | None
) -> RequestChange:
    """The certificate was handed over: to the candidate, unless staff name a delegate."""
    receiver = collected_by or request.applicant.name
    moved = _moved(
        request,
        RequestAction.RECORD_COLLECTION,
        actor,
        now,
        why=receiver,
        collected_at=now,
        collected_by=receiver,
    )
    event = ExamCertificateCollected(**_about(request), collected_at=now, collected_by=receiver)
    return RequestChange(moved, (Raised("exams.request.certificate_collected.v1", event),))


# ---- the session -----------------------------------------------------------------------------


def open_session(
    request: ExamRequest, catalogue: Catalogue, session_number: str, now: datetime
) -> ExamSession:
    """A new session for the official exam of a paid request, before its first candidate.

    Its minimum and seats come from the catalogue; an exam withdrawn from the catalogue since
    the request was made still serves its paid candidates, with the minimum they were told."""
    step = _find(SESSION_WORKFLOW, SessionAction.OPEN, None, None)
    listed = catalogue.exam(request.exam.code)
    minimum = (listed.min_candidates if listed else None) or request.session_minimum or 1
    seats = max((listed.seats if listed else None) or minimum, minimum)
    return ExamSession(
        session_number=session_number,
        exam=request.exam,
        centre=request.centre,
        status=SessionStatus(step.target),
        minimum=minimum,
        seats=seats,
        opened_at=now,
        history=(
            TimelineEntry(
                at=now,
                action=SessionAction.OPEN,
                source=None,
                target=step.target,
                by=SERVICE,
                role=SYSTEM,
            ),
        ),
    )


def _session_moved(
    session: ExamSession,
    action: SessionAction,
    actor: Actor,
    now: datetime,
    *,
    why: str | None = None,
    **changes: object,
) -> ExamSession:
    step = _find(SESSION_WORKFLOW, action, session.status, None)
    role = actor.role_for(step)
    entry = TimelineEntry(
        at=now,
        action=action,
        source=session.status,
        target=step.target,
        by=actor.subject,
        role=role,
        why=why,
    )
    return session.model_copy(
        update={
            "status": SessionStatus(step.target),
            "history": (*session.history, entry),
            **changes,
        }
    )


def admit(
    session: ExamSession,
    request_number: str,
    *,
    paid_at: datetime,
    now: datetime,
    calendar: WorkingCalendar,
) -> SessionChange:
    """Seat a paid candidate. The candidate who completes the minimum starts the one-working-week
    deadline, counted from the later of their payment and now (seed 004)."""
    if request_number in session.candidates:
        return SessionChange(session, is_noop=True)
    if not session.is_accepting:
        raise NotAllowedNow(
            f"session {session.session_number} takes no more candidates",
            f"الجلسة {session.session_number} لا تستقبل متقدمين جدداً",
        )
    candidates = (*session.candidates, request_number)
    admitted = _session_moved(
        session,
        SessionAction.ADMIT,
        system(SERVICE),
        now,
        why=request_number,
        candidates=candidates,
    )
    if session.status is not SessionStatus.OPEN or len(candidates) < session.minimum:
        return SessionChange(admitted)
    reached_at = max(paid_at, now)
    due = calendar.deadline_after(reached_at, DATE_SLA_WORKING_DAYS)
    complete = _session_moved(
        admitted,
        SessionAction.REACH_MINIMUM,
        system(SERVICE),
        now,
        minimum_reached_at=reached_at,
        date_due_at=due,
    )
    event = ExamSessionMinimumReached(
        session_number=session.session_number,
        exam=session.exam,
        minimum=session.minimum,
        candidates=len(candidates),
        minimum_reached_at=reached_at,
        date_due_at=due,
    )
    return SessionChange(complete, (Raised("exams.session.minimum_reached.v1", event),))


def mark_overdue(session: ExamSession, now: datetime) -> SessionChange:
    """One working week passed without a date: recorded once, for staff and operators."""
    if session.overdue_since is not None or not session.is_overdue(now):
        return SessionChange(session, is_noop=True)
    assert session.minimum_reached_at is not None and session.date_due_at is not None
    moved = _session_moved(
        session, SessionAction.MARK_OVERDUE, system(SERVICE), now, overdue_since=now
    )
    event = ExamSessionOverdue(
        session_number=session.session_number,
        exam=session.exam,
        candidates=len(session.candidates),
        minimum_reached_at=session.minimum_reached_at,
        date_due_at=session.date_due_at,
    )
    return SessionChange(moved, (Raised("exams.session.overdue.v1", event),))


def schedule_session(
    session: ExamSession,
    actor: Actor,
    now: datetime,
    *,
    exam_at: datetime,
    venue: LocalizedText | None,
    calendar: WorkingCalendar,
) -> SessionChange:
    """A coordinator sets the date agreed with the granting body: a future working day."""
    step = _find(SESSION_WORKFLOW, SessionAction.SCHEDULE, session.status, None)
    actor.role_for(step)
    errors: list[FieldError] = []
    if exam_at <= now:
        errors.append(
            FieldError(
                "exam_at",
                "The exam must start in the future",
                "يجب أن يكون موعد الامتحان في المستقبل",
                "future_datetime",
            )
        )
    elif (why := calendar.why_closed(calendar.local_date(exam_at))) is not None:
        errors.append(
            FieldError(
                "exam_at",
                f"The exam must be on a working day ({_amman_day(exam_at)} is a {why} day)"
                if why in ("weekend", "closure")
                else f"The exam must be on a working day ({_amman_day(exam_at)}: {why})",
                f"يجب أن يكون موعد الامتحان في يوم عمل ({_amman_day(exam_at)} عطلة رسمية)",
                "working_day",
            )
        )
    if errors:
        raise RuleBroken("the exam date is not acceptable", "موعد الامتحان غير مقبول", errors)
    place = venue or session.centre.name
    was_overdue = session.is_overdue(now)
    moved = _session_moved(
        session,
        SessionAction.SCHEDULE,
        actor,
        now,
        why="after the deadline" if was_overdue else None,
        exam_at=exam_at,
        venue=place,
        scheduled_at=now,
    )
    event = ExamSessionScheduled(
        session_number=session.session_number,
        exam=session.exam,
        exam_at=exam_at,
        venue=place,
        candidates=list(session.candidates),
        scheduled_at=now,
        was_overdue=was_overdue,
    )
    return SessionChange(moved, (Raised("exams.session.scheduled.v1", event),))


# ---- what the inquiry shows ------------------------------------------------------------------


def amman_time(instant: datetime) -> str:
    """`01/12/2026 23:59`, Amman's time, as the SMS show it."""
    return instant.astimezone(AMMAN).strftime("%d/%m/%Y %H:%M")


def _fils_as_jod(fils: int) -> str:
    dinars, rest = divmod(fils, 1000)
    return f"{dinars}.{rest:03d}"


@dataclass(frozen=True)
class Deadline:
    at: datetime
    label: LocalizedText
    is_overdue: bool


@dataclass(frozen=True)
class Inquiry:
    """What the request-inquiry screen shows besides the request's own fields."""

    status_label: LocalizedText
    next_step: LocalizedText | None
    deadline: Deadline | None
    timeline: tuple[TimelineLine, ...]


@dataclass(frozen=True)
class TimelineLine:
    """A timeline entry with its labels: what happened, the state before and after."""

    entry: TimelineEntry
    label: LocalizedText
    source_label: LocalizedText | None
    target_label: LocalizedText


def _fill(state: State, values: Mapping[str, Mapping[str, str]]) -> LocalizedText | None:
    if state.next_en is None or state.next_ar is None:
        return None
    return LocalizedText(
        en=state.next_en.format_map(values["en"]), ar=state.next_ar.format_map(values["ar"])
    )


def inquiry(request: ExamRequest, session: ExamSession | None, now: datetime) -> Inquiry:
    """The status, the next step, the deadline and the timeline's labels, in Arabic and English."""
    state = REQUEST_STATES[request.status]
    common = {
        "fee": _fils_as_jod(request.fee.amount_fils),
        "due": amman_time(request.fee.due_at),
        "minimum": str(request.session_minimum or ""),
        "exam_at": amman_time(request.exam_at) if request.exam_at else "",
    }
    venue = request.venue or request.centre.name
    values = {
        lang: {
            **common,
            "centre": getattr(request.centre.name, lang),
            "hours": getattr(request.centre.working_hours, lang),
            "venue": getattr(venue, lang),
            "documents": getattr(request.documents, lang),
        }
        for lang in ("en", "ar")
    }
    deadline: Deadline | None = None
    if request.status is RequestStatus.AWAITING_PAYMENT:
        deadline = Deadline(
            request.fee.due_at,
            LocalizedText(en="Pay by", ar="آخر موعد للدفع"),
            is_overdue=now > request.fee.due_at,
        )
    elif (
        request.status is RequestStatus.AWAITING_SESSION
        and session is not None
        and session.date_due_at is not None
    ):
        deadline = Deadline(
            session.date_due_at,
            LocalizedText(en="Exam date to be set by", ar="آخر موعد لتحديد موعد الامتحان"),
            is_overdue=session.is_overdue(now),
        )
    elif request.status is RequestStatus.SCHEDULED and request.exam_at is not None:
        deadline = Deadline(
            request.exam_at, LocalizedText(en="Exam on", ar="موعد الامتحان"), is_overdue=False
        )
    return Inquiry(
        status_label=state.label,
        next_step=_fill(state, values),
        deadline=deadline,
        timeline=_timeline(REQUEST_WORKFLOW, REQUEST_STATES, request.history),
    )


def session_next_step(session: ExamSession) -> LocalizedText | None:
    state = SESSION_STATES[session.status]
    common = {
        "minimum": str(session.minimum),
        "candidates": str(len(session.candidates)),
        # The deadline is the midnight ending its last day: shown as that day's 23:59.
        "due": amman_time(session.date_due_at - timedelta(seconds=1))
        if session.date_due_at
        else "",
        "exam_at": amman_time(session.exam_at) if session.exam_at else "",
    }
    venue = session.venue or session.centre.name
    body = session.exam.granting_body or session.centre.name
    values = {
        lang: {**common, "venue": getattr(venue, lang), "granting_body": getattr(body, lang)}
        for lang in ("en", "ar")
    }
    return _fill(state, values)


def session_timeline(session: ExamSession) -> tuple[TimelineLine, ...]:
    return _timeline(SESSION_WORKFLOW, SESSION_STATES, session.history)


def _timeline(
    workflow: Sequence[Step], labels: Mapping[str, State], history: Sequence[TimelineEntry]
) -> tuple[TimelineLine, ...]:
    return tuple(
        TimelineLine(
            entry=entry,
            label=_entry_label(workflow, entry),
            source_label=None if entry.source is None else labels[entry.source].label,
            target_label=labels[entry.target].label,
        )
        for entry in history
    )


def _entry_label(workflow: Sequence[Step], entry: TimelineEntry) -> LocalizedText:
    step = move_of(workflow, entry.action, entry.source, entry.target)
    return step.label if step else label_of(workflow, entry.action)


def status_label(status: RequestStatus | SessionStatus) -> LocalizedText:
    if isinstance(status, RequestStatus):
        return REQUEST_STATES[status].label
    return SESSION_STATES[status].label


EXAM_TYPE_LABELS: Mapping[ExamType, LocalizedText] = {
    ExamType.OFFICIAL: LocalizedText(
        en="Official exam (accredited certificate)", ar="امتحان رسمي (شهادة معتمدة)"
    ),
    ExamType.TRIAL: LocalizedText(en="Trial (commercial) exam", ar="امتحان تجريبي (تجاري)"),
}

OUTCOME_LABELS: Mapping[Outcome, LocalizedText] = {
    Outcome.PASSED: LocalizedText(en="Passed", ar="ناجح"),
    Outcome.FAILED: LocalizedText(en="Did not pass", ar="لم يحالفه النجاح"),
}
