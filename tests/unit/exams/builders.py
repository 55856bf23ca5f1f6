"""Plain objects the exams unit tests build requests and sessions from (no fixtures, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import LocalizedText
from services.common.calendar import WorkingCalendar
from services.common.workflow import Actor
from services.exams import domain
from services.exams.domain import (
    ApplicationForm,
    Catalogue,
    CatalogueExam,
    Centre,
    ExamRequest,
    ExamSession,
    ExamType,
    IdType,
    PaymentMade,
    Subject,
)

# Tuesday 24 November 2026, 11:00 in Amman.
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
CALENDAR = WorkingCalendar()
CITIZEN = Actor("citizen-1", frozenset({domain.CITIZEN}))
OTHER_CITIZEN = Actor("citizen-2", frozenset({domain.CITIZEN}))
COORDINATOR = Actor("coordinator-7", frozenset({domain.COORDINATOR}))

CENTRE = Centre(
    code="ks",
    name=LocalizedText(ar="المحطة المعرفية - رأس العين", en="Knowledge Station, Ras Al-Ain"),
    working_hours=LocalizedText(
        ar="الأحد إلى الخميس 8:30-15:00", en="Sunday to Thursday 08:30-15:00"
    ),
)
CATALOGUE = Catalogue(
    centres=(CENTRE,),
    subjects=(
        Subject(code="icdl", name=LocalizedText(ar="ICDL", en="ICDL"), fee_fils=25_000),
        Subject(code="practice", name=LocalizedText(ar="تجريبي", en="Practice"), fee_fils=5_000),
    ),
    exams=(
        CatalogueExam(
            code="icdl-documents",
            type=ExamType.OFFICIAL,
            name=LocalizedText(ar="ICDL معالجة النصوص", en="ICDL Documents"),
            subject="icdl",
            centre="ks",
            granting_body=LocalizedText(ar="ICDL العربية", en="ICDL Arabia"),
            min_candidates=2,
            seats=3,
        ),
        CatalogueExam(
            code="icdl-practice",
            type=ExamType.TRIAL,
            name=LocalizedText(ar="امتحان ICDL تجريبي", en="ICDL practice test"),
            subject="practice",
            centre="ks",
        ),
    ),
)
OFFICIAL = "icdl-documents"
TRIAL = "icdl-practice"


def form(**changes: object) -> ApplicationForm:
    values: dict[str, object] = {
        "exam_type": ExamType.TRIAL,
        "exam_code": TRIAL,
        "applicant_name": "ليلى أحمد الحداد",
        "id_type": IdType.NATIONAL_NUMBER,
        "id_number": "9871012345",
        "phone": "0791234567",
        "lang": "ar",
    }
    values.update(changes)
    return ApplicationForm(**values)  # type: ignore[arg-type]


def submitted(
    exam_code: str = TRIAL, number: str = "EX-2026-000123", owner: Actor = CITIZEN
) -> ExamRequest:
    exam_type = ExamType.OFFICIAL if exam_code == OFFICIAL else ExamType.TRIAL
    application = domain.check_application(
        form(exam_code=exam_code, exam_type=exam_type), CATALOGUE
    )
    return domain.submit(
        application,
        CATALOGUE,
        request_number=number,
        owner=owner,
        now=NOW,
        payment_due_at=domain.payment_due(CALENDAR, NOW, 3),
    ).request


def payment(at: datetime = NOW, amount_fils: int = 25_000) -> PaymentMade:
    return PaymentMade(e_payment_number="2026000123457", amount_fils=amount_fils, paid_at=at)


def paid(request: ExamRequest, at: datetime = NOW) -> ExamRequest:
    change = domain.record_payment(request, payment(at, request.fee.amount_fils), at)
    assert change is not None
    return change.request


def seated_session(*numbers: str, at: datetime = NOW) -> ExamSession:
    """An official session of `numbers`, each paid and admitted at `at`."""
    session = domain.open_session(submitted(OFFICIAL), CATALOGUE, "ES-2026-000012", at)
    for number in numbers:
        change = domain.admit(session, number, paid_at=at, now=at, calendar=CALENDAR)
        assert change is not None
        session = change.session
    return session
