"""Training and mission-facilitation requests (seed 003): states, the workflow table, every rule.

Pure: no I/O. The workflow is data (`WORKFLOW`: action, from, to, roles, bilingual label, what
starts it; `STATES`: labels, next step, SLA), and each transition is a function taking the current
request and returning a `Change`: the new request, the history entry and the events to publish,
which the store writes in one single-document update guarded by the version. The catalogue of
departments and GIS courses (with hours and fees) is data too (`catalogue.json`).

Deadlines live in one field, `due_at`, whose meaning follows the state: the correction deadline
(awaiting correction), the last day to choose a postponed date (postponement offered) or the end
of the period (approved, attending, postponed). The unpaid fee is not ours to time: payments
expires the bill after its due date and `payments.bill.expired.v1` cancels the request, once,
because only a request still awaiting payment moves.
"""

from __future__ import annotations

import calendar as month_calendar
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from contracts import (
    Applicant,
    ContractModel,
    LocalizedText,
    PaymentRequested,
    RefundRequested,
    reference,
)
from contracts.training import (
    GisCourse,
    TrainingAttachmentsRejected,
    TrainingDetails,
    TrainingPostponed,
    TrainingPostponementOffered,
    TrainingRequestApproved,
    TrainingRequestCancelled,
    TrainingRequestCompleted,
    TrainingRequestRejected,
    TrainingRequestSubmitted,
)
from services.common import workflow
from services.common.calendar import WorkingCalendar
from services.common.errors import DomainError as DomainError
from services.common.errors import FieldError as FieldError
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import RuleBroken as RuleBroken
from services.common.formatting import end_of_day
from services.common.workflow import HistoryEntry as HistoryEntry
from services.common.workflow import State as State
from services.common.workflow import Step as Step

SERVICE = "training"
REQUEST_PREFIX = "TR"
SERVICE_TYPE = "training.gis_course_fee"
AMMAN = ZoneInfo("Asia/Amman")

CITIZEN = "citizen"
REVIEWER = "training.reviewer"
SUPERVISOR = "training.supervisor"
STAFF_ROLES = (REVIEWER, SUPERVISOR)
SYSTEM = "system"
PAYMENTS = "payments"

# Seed 003, note 1 and 2: three days to correct the attachments, three to pay (working days).
CORRECTION_WORKING_DAYS = 3
PAYMENT_WORKING_DAYS = 3
# Seed 003, "وقت انجاز الخدمة": 2 to 5 working days. The review is due within 5 (the SLA);
# the inquiry shows 2 as the target.
REVIEW_TARGET_WORKING_DAYS = 2
REVIEW_SLA_WORKING_DAYS = 5
# Seed 003, note 3: a second no-show keeps 25 % of the fee; the rest needs senior management.
NO_SHOW_WITHHELD_PERCENT = 25
# Seed 003, step 11: postponed once, by one month at most.
POSTPONE_MONTHS = 1
# Decision: a period is at most this long.
MAX_PERIOD_DAYS = 183
MAX_DAYS_AHEAD = 366


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


class Status(StrEnum):
    UNDER_REVIEW = "under_review"
    AWAITING_CORRECTION = "awaiting_correction"
    AWAITING_PAYMENT = "awaiting_payment"
    APPROVED = "approved"
    POSTPONEMENT_OFFERED = "postponement_offered"
    POSTPONED = "postponed"
    ATTENDING = "attending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SUBMIT = "submit"
    FLAG_ATTACHMENTS = "flag_attachments"
    CORRECT_ATTACHMENTS = "correct_attachments"
    EXPIRE_CORRECTION = "expire_correction"
    APPROVE = "approve"
    REJECT = "reject"
    PAY = "pay"
    EXPIRE_PAYMENT = "expire_payment"
    RECORD_ATTENDANCE = "record_attendance"
    RECORD_NO_SHOW = "record_no_show"
    POSTPONE = "postpone"
    EXPIRE_POSTPONEMENT = "expire_postponement"
    COMPLETE = "complete"


# ---- the workflow, as data -------------------------------------------------------------------


S = Status
A = Action
WORKFLOW: tuple[Step, ...] = (
    Step(A.SUBMIT, None, S.UNDER_REVIEW, (CITIZEN,),
         "Request received and initially accepted", "استُلم الطلب وقُبل مبدئياً",
         "the applicant submits the request with its attachment (POST /v1/requests)"),
    Step(A.FLAG_ATTACHMENTS, S.UNDER_REVIEW, S.AWAITING_CORRECTION, (REVIEWER,),
         "Attachments to be corrected", "مطلوب تصويب المرفقات",
         "a reviewer finds the attachment wrong"),
    Step(A.CORRECT_ATTACHMENTS, S.AWAITING_CORRECTION, S.UNDER_REVIEW, (CITIZEN,),
         "Attachments corrected", "صُوّبت المرفقات",
         "the applicant uploads the corrected file in time"),
    Step(A.EXPIRE_CORRECTION, S.AWAITING_CORRECTION, S.CANCELLED, (SYSTEM,),
         "Cancelled: attachments not corrected in time", "أُلغي الطلب لعدم تصويب المرفقات",
         "the correction deadline passes (sweeper)"),
    Step(A.APPROVE, S.UNDER_REVIEW, S.APPROVED, (REVIEWER,),
         "Approved", "تمت الموافقة", "a reviewer approves a free request", branch="free"),
    Step(A.APPROVE, S.UNDER_REVIEW, S.AWAITING_PAYMENT, (REVIEWER,),
         "Approved; course fee requested", "تمت الموافقة وطُلب دفع رسوم الدورة",
         "a reviewer approves an individual's GIS training", branch="paid"),
    Step(A.REJECT, S.UNDER_REVIEW, S.REJECTED, (REVIEWER,),
         "Not approved", "لم تتم الموافقة", "a reviewer rejects, with reasons"),
    Step(A.PAY, S.AWAITING_PAYMENT, S.APPROVED, (PAYMENTS,),
         "Fee paid; approved", "دُفعت الرسوم وتمت الموافقة", "payments.bill.paid.v1"),
    Step(A.EXPIRE_PAYMENT, S.AWAITING_PAYMENT, S.CANCELLED, (PAYMENTS,),
         "Cancelled: fee not paid in time", "أُلغي الطلب لعدم دفع الرسوم",
         "payments.bill.expired.v1 (or .cancelled.v1)"),
    Step(A.RECORD_ATTENDANCE, S.APPROVED, S.ATTENDING, (SUPERVISOR,),
         "Attended", "باشر التدريب", "a supervisor records attendance (from the start date)"),
    Step(A.RECORD_ATTENDANCE, S.POSTPONED, S.ATTENDING, (SUPERVISOR,),
         "Attended on the new date", "باشر التدريب في الموعد الجديد",
         "a supervisor records attendance (from the new start date)"),
    Step(A.RECORD_NO_SHOW, S.APPROVED, S.POSTPONEMENT_OFFERED, (SUPERVISOR,),
         "No-show; postponement offered", "عدم الحضور؛ عُرض التأجيل",
         "a supervisor records a no-show at paid GIS training", branch="paid"),
    Step(A.RECORD_NO_SHOW, S.APPROVED, S.CANCELLED, (SUPERVISOR,),
         "Cancelled: no-show", "أُلغي الطلب لعدم الحضور",
         "a supervisor records a no-show at free training", branch="free"),
    Step(A.RECORD_NO_SHOW, S.POSTPONED, S.CANCELLED, (SUPERVISOR,),
         "Cancelled: no-show at the new date; 25 % withheld",
         "أُلغي الطلب لعدم الحضور في الموعد الجديد وخُصم 25% من الرسوم",
         "a supervisor records a no-show at the new date"),
    Step(A.POSTPONE, S.POSTPONEMENT_OFFERED, S.POSTPONED, (CITIZEN,),
         "Postponed to a new start date", "أُجّل موعد التدريب",
         "the applicant picks a new start within one month (once)"),
    Step(A.EXPIRE_POSTPONEMENT, S.POSTPONEMENT_OFFERED, S.CANCELLED, (SYSTEM,),
         "Cancelled: no new date chosen; 25 % withheld",
         "أُلغي الطلب لعدم اختيار موعد جديد وخُصم 25% من الرسوم",
         "the last day to start passes without a new date (sweeper)"),
    Step(A.COMPLETE, S.APPROVED, S.COMPLETED, (SYSTEM,),
         "Period over", "انتهت المدة", "the end of the period (sweeper)"),
    Step(A.COMPLETE, S.ATTENDING, S.COMPLETED, (SYSTEM,),
         "Period over", "انتهت المدة", "the end of the period (sweeper)"),
    Step(A.COMPLETE, S.POSTPONED, S.COMPLETED, (SYSTEM,),
         "Period over", "انتهت المدة", "the end of the new period (sweeper)"),
)  # fmt: skip

_APPLY_AGAIN_EN = "You may submit a new request at www.amman.jo."
_APPLY_AGAIN_AR = "يمكنكم تقديم طلب جديد عبر www.amman.jo."

STATES: Mapping[str, State] = {
    S.UNDER_REVIEW: State(
        "Under review", "قيد الدراسة",
        "Wait for the department's decision (target {target}, at the latest {sla}).",
        "انتظر قرار الدائرة (المستهدف {target}، وبحد أقصى {sla}).",
        sla_working_days=REVIEW_SLA_WORKING_DAYS,
    ),
    S.AWAITING_CORRECTION: State(
        "Attachments to be corrected", "بانتظار تصويب المرفقات",
        "Upload the corrected attachment from this screen before {due}: {note}",
        "ارفع المرفق المصوّب من هذه الشاشة قبل {due}: {note}",
    ),
    S.AWAITING_PAYMENT: State(
        "Awaiting payment", "بانتظار دفع الرسوم",
        "Pay the course fee of {fee} JOD with the e-payment number sent by SMS, by {due}.",
        "ادفع رسوم الدورة ({fee} دينار) برقم الدفع الإلكتروني المرسل برسالة نصية قبل {due}.",
    ),
    S.APPROVED: State(
        "Approved", "تمت الموافقة",
        "Print the approval letter from this screen; start on {start}.",
        "اطبع كتاب الموافقة من هذه الشاشة؛ تبدأ المدة في {start}.",
    ),
    S.POSTPONEMENT_OFFERED: State(
        "Postponement offered", "التأجيل متاح",
        "Choose a new start date, no later than {latest}, from this screen (once only).",
        "اختر موعد بدء جديداً لا يتجاوز {latest} من هذه الشاشة (لمرة واحدة فقط).",
    ),
    S.POSTPONED: State(
        "Postponed", "مؤجل",
        "Attend from the new start date {start}.",
        "احضر اعتباراً من موعد البدء الجديد {start}.",
    ),
    S.ATTENDING: State(
        "In progress", "قيد التنفيذ",
        "Attend until the end of the period on {end}.",
        "داوم حتى نهاية المدة في {end}.",
    ),
    S.COMPLETED: State(
        "Period over", "انتهت المدة",
        "{completed_en}", "{completed_ar}", is_final=True,
    ),
    S.REJECTED: State("Not approved", "لم تتم الموافقة", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR,
                      is_final=True),
    S.CANCELLED: State("Cancelled", "ملغى", _APPLY_AGAIN_EN, _APPLY_AGAIN_AR, is_final=True),
}  # fmt: skip


# What the shared workflow machinery derives from the tables (role checks, README, labels).
steps = partial(workflow.steps, WORKFLOW)
roles_for = partial(workflow.roles_for, WORKFLOW)
state_diagram = partial(workflow.state_diagram, WORKFLOW, workflow.final_states(STATES))
transitions_table = partial(workflow.transitions_table, WORKFLOW)
states_table = partial(workflow.states_table, STATES)

COMPLETED_TRAINING = LocalizedText(
    en="Print the completion letter from this screen; collect the evaluation report in person.",
    ar="اطبع كتاب انتهاء التدريب من هذه الشاشة، واحضر لاستلام تقرير التقييم باليد.",
)
COMPLETED_MISSION = LocalizedText(
    en="Hand in a paper and an electronic copy of the study once it is finished and its "
    "results are out.",
    ar="سلّم نسخة ورقية وإلكترونية من الدراسة بعد إنهائها وصدور نتائجها.",
)
# States that give the approval letter; the completion letter is given once training completed.
LETTER_STATES = (S.APPROVED, S.POSTPONEMENT_OFFERED, S.POSTPONED, S.ATTENDING, S.COMPLETED)


# ---- the catalogue ---------------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


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


CATALOGUE_FILE = Path(__file__).resolve().with_name("catalogue.json")


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    return Catalogue.model_validate(json.loads(path.read_text(encoding="utf-8")))


# ---- the aggregate ---------------------------------------------------------------------------


AttachmentKind = Literal["official_letter", "certificate"]


class Attachment(Record):
    """The uploaded document, in the service's GridFS bucket, checked by its bytes and size."""

    file_id: str
    kind: AttachmentKind
    content_type: str
    size: int
    filename: str
    uploaded_at: datetime


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


class TrainingRequest(Record):
    number: str
    owner_subject: str
    applicant: Applicant
    application: Application
    status: Status = Status.UNDER_REVIEW
    version: int = 1
    created_at: datetime
    attachment: Attachment
    attachment_note: LocalizedText | None = None
    # The review's SLA clock: started at submission and again at a correction.
    review_started_at: datetime | None = None
    review_due_at: datetime | None = None
    # The state's deadline (see the module docstring).
    due_at: datetime | None = None
    payment_reference: str | None = None
    payment_due_at: datetime | None = None
    e_payment_number: str | None = None
    paid_at: datetime | None = None
    is_postponed: bool = False
    original_start_date: date | None = None
    latest_start_date: date | None = None
    rejection_reasons: LocalizedText | None = None
    cancel_reason: LocalizedText | None = None
    withheld_fils: int = 0
    refund_fils: int = 0
    refund_reference: str | None = None
    refund_status: str | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def is_paid_training(self) -> bool:
        return self.application.fee_fils > 0

    def details(self) -> TrainingDetails:
        app = self.application
        return TrainingDetails(
            kind=app.kind.value,
            department_code=app.department_code,
            department=app.department,
            start_date=app.start_date,
            end_date=app.end_date,
            study_subject=app.study_subject,
            course=app.course,
            fee_fils=app.fee_fils,
        )


Event = tuple[str, ContractModel]


@dataclass(frozen=True)
class Change:
    """A request's new value, the history entry it gained and the events it publishes."""

    request: TrainingRequest
    entries: tuple[HistoryEntry, ...] = ()
    events: tuple[Event, ...] = ()


# ---- dates -----------------------------------------------------------------------------------


def local_date(instant: datetime) -> date:
    return instant.astimezone(AMMAN).date()


def day_start(day: date) -> datetime:
    """The instant the Amman day `day` begins, in UTC."""
    return datetime.combine(day, time.min, tzinfo=AMMAN).astimezone(UTC)


def period_end(day: date) -> datetime:
    """The end of the Amman day `day` (the midnight that starts the next), in UTC."""
    return day_start(day + timedelta(days=1))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = month_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


# ---- the application -------------------------------------------------------------------------


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


class InvalidApplication(Exception):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = tuple(errors)


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


# ---- transitions -----------------------------------------------------------------------------


def _find(action: str, source: str | None, branch: str | None = None) -> Step:
    for step in WORKFLOW:
        if step.action == action and step.source == source and step.branch == branch:
            return step
    if any(step.action == action and step.source == source for step in WORKFLOW):
        raise AssertionError(f"no branch {branch} of {action} from {source}")
    raise NotAllowedNow(
        f"This cannot be done while the request is {source}.",
        f"لا يمكن تنفيذ هذا الإجراء والطلب في حالة «{STATES[source].label_ar if source else ''}».",
    )


def _moved(
    request: TrainingRequest, action: str, now: datetime, by: str, *events: Event,
    branch: str | None = None, reason: str | None = None, **updates: object,
) -> Change:  # fmt: skip
    step = _find(action, request.status, branch)
    entry = HistoryEntry(
        at=now, action=step.action, source=step.source, target=step.target, by=by, reason=reason
    )
    updated = request.model_copy(
        update={"status": Status(step.target), **updates, "history": (*request.history, entry)}
    )
    return Change(updated, (entry,), tuple(events))


def _about(request: TrainingRequest) -> dict[str, object]:
    return {
        "request_number": request.number,
        "details": request.details(),
        "applicant": request.applicant,
        "owner_subject": request.owner_subject,
    }


def record_bill(request: TrainingRequest, reference: str, e_payment_number: str) -> Change | None:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the current bill, once; no event."""
    if (
        request.status is not Status.AWAITING_PAYMENT
        or request.payment_reference != reference
        or request.e_payment_number is not None
    ):
        return None
    return Change(request.model_copy(update={"e_payment_number": e_payment_number}))


def payment_reference(number: str) -> str:
    return reference(SERVICE, number, "fee")


def refund_reference(number: str, purpose: str) -> str:
    return reference(SERVICE, number, purpose)


def submit(
    number: str, owner: str, applicant: Applicant, application: Application,
    attachment: Attachment, now: datetime, calendar: WorkingCalendar,
) -> Change:  # fmt: skip
    """Step 6: received and initially accepted; the review's SLA starts."""
    if attachment.kind != application.attachment_kind:
        raise RuleBroken("The attachment does not fit the applicant type.",
                         "المرفق لا يناسب نوع مقدم الطلب.", field="attachment")  # fmt: skip
    step = _find(Action.SUBMIT, None)
    entry = HistoryEntry(at=now, action=step.action, source=None, target=step.target, by=owner)
    request = TrainingRequest(
        number=number,
        owner_subject=owner,
        applicant=applicant,
        application=application,
        status=Status.UNDER_REVIEW,
        created_at=now,
        attachment=attachment,
        review_started_at=now,
        review_due_at=calendar.deadline_after(now, REVIEW_SLA_WORKING_DAYS),
        history=(entry,),
    )
    submitted = TrainingRequestSubmitted(
        request_number=number,
        details=request.details(),
        submitted_at=now,
        applicant=applicant,
        owner_subject=owner,
    )
    return Change(request, (entry,), (("training.request.submitted.v1", submitted),))


def flag_attachments(
    request: TrainingRequest, note: LocalizedText, now: datetime, by: str,
    calendar: WorkingCalendar,
) -> Change:  # fmt: skip
    """Step 7: the attachment is wrong; 3 working days to correct it."""
    # Due at 23:59 Amman time of the last day (services/common/formatting.py), as stated.
    due = end_of_day(calendar.add_working_days(local_date(now), CORRECTION_WORKING_DAYS))
    event = TrainingAttachmentsRejected(**_about(request), note=note, correct_by=due)
    return _moved(
        request, Action.FLAG_ATTACHMENTS, now, by,
        ("training.request.attachments_rejected.v1", event),
        reason=note.en, attachment_note=note, due_at=due, review_due_at=None,
    )  # fmt: skip


def correct_attachments(
    request: TrainingRequest, attachment: Attachment, now: datetime, calendar: WorkingCalendar
) -> Change:
    """Corrected in time: back to review (no SMS: the applicant did it on screen)."""
    if request.status is Status.AWAITING_CORRECTION and request.due_at and now >= request.due_at:
        raise NotAllowedNow("The time to correct the attachments has passed.",
                            "انتهت مدة تصويب المرفقات.")  # fmt: skip
    if attachment.kind != request.application.attachment_kind:
        raise RuleBroken("The attachment does not fit the applicant type.",
                         "المرفق لا يناسب نوع مقدم الطلب.", field="attachment")  # fmt: skip
    return _moved(
        request, Action.CORRECT_ATTACHMENTS, now, request.owner_subject,
        reason=attachment.filename, attachment=attachment, due_at=None,
        review_started_at=now,
        review_due_at=calendar.deadline_after(now, REVIEW_SLA_WORKING_DAYS),
    )  # fmt: skip


def _cancelled(
    request: TrainingRequest, action: str, now: datetime, by: str, code: str,
    reason: LocalizedText, *extra: Event, branch: str | None = None, withheld: int = 0,
    refund: int = 0, **updates: object,
) -> Change:  # fmt: skip
    event = TrainingRequestCancelled(
        **_about(request),
        reason_code=code,
        reason=reason,
        withheld_fils=withheld,
        refund_fils=refund,
        refund_needs_approval=refund > 0,
    )
    return _moved(
        request, action, now, by, ("training.request.cancelled.v1", event), *extra,
        branch=branch, reason=reason.en, cancel_reason=reason, withheld_fils=withheld,
        refund_fils=refund, due_at=None, review_due_at=None, **updates,
    )  # fmt: skip


def expire_correction(request: TrainingRequest, now: datetime) -> Change | None:
    """Note 1: not corrected in time: cancelled. None if it no longer waits (a late sweep)."""
    if request.status is not Status.AWAITING_CORRECTION:
        return None
    reason = LocalizedText(
        ar="لم تُصوَّب المرفقات خلال المدة المحددة",
        en="the attachments were not corrected in time",
    )
    return _cancelled(
        request, Action.EXPIRE_CORRECTION, now, SYSTEM, "attachments_not_corrected", reason
    )


def _approved(request: TrainingRequest, is_paid: bool) -> Event:
    approved = TrainingRequestApproved(**_about(request), is_paid=is_paid)
    return ("training.request.approved.v1", approved)


def approve(
    request: TrainingRequest, now: datetime, by: str, calendar: WorkingCalendar,
    note: str | None = None,
) -> Change:  # fmt: skip
    """Step 8 (an individual's GIS training: the fee is requested) or step 10 (free)."""
    if request.status is Status.UNDER_REVIEW and local_date(now) > request.application.end_date:
        raise RuleBroken("The requested period is already over; reject the request instead.",
                         "انتهت المدة المطلوبة؛ يُرفض الطلب بدلاً من ذلك.")  # fmt: skip
    if not request.is_paid_training:
        change = _moved(
            request, Action.APPROVE, now, by, branch="free", reason=note, review_due_at=None,
            due_at=period_end(request.application.end_date),
        )  # fmt: skip
        return Change(change.request, change.entries, (_approved(change.request, False),))
    course = request.application.course
    assert course is not None
    reference = payment_reference(request.number)
    due = end_of_day(calendar.add_working_days(local_date(now), PAYMENT_WORKING_DAYS))
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request.number,
        amount_fils=course.fee_fils,
        description=LocalizedText(
            ar=f"رسوم تدريب نظم المعلومات الجغرافية: {course.name.ar}"[:200],
            en=f"GIS training fee: {course.name.en}"[:200],
        ),
        due_at=due,
        payer=request.applicant,
        service_type=SERVICE_TYPE,
        owner_subject=request.owner_subject,
    )
    return _moved(
        request, Action.APPROVE, now, by, ("training.payment.requested.v1", payment),
        branch="paid", reason=note, review_due_at=None, payment_reference=reference,
        payment_due_at=due,
    )  # fmt: skip


def reject(request: TrainingRequest, reasons: LocalizedText, now: datetime, by: str) -> Change:
    """Step 9: not approved, with the reasons."""
    event = TrainingRequestRejected(**_about(request), reasons=reasons)
    return _moved(
        request, Action.REJECT, now, by, ("training.request.rejected.v1", event),
        reason=reasons.en, rejection_reasons=reasons, review_due_at=None,
    )  # fmt: skip


def pay(
    request: TrainingRequest, e_payment_number: str, paid_at: datetime, amount_fils: int,
    now: datetime,
) -> Change | None:  # fmt: skip
    """Step 10 after the fee: approved. None: nothing to do (a redelivery, already settled)."""
    if request.status is Status.AWAITING_PAYMENT:
        change = _moved(
            request, Action.PAY, now, PAYMENTS, e_payment_number=e_payment_number,
            paid_at=paid_at, due_at=period_end(request.application.end_date),
        )  # fmt: skip
        return Change(change.request, change.entries, (_approved(change.request, True),))
    if (
        request.status is Status.CANCELLED
        and request.paid_at is None
        and request.payment_reference
        and request.refund_reference is None
    ):
        # Paid after the bill's expiry crossed the payment: the money goes back, no approval.
        reference = refund_reference(request.number, "late_payment_refund")
        refund = RefundRequested(
            payment_reference=request.payment_reference,
            refund_reference=reference,
            request_number=request.number,
            amount_fils=amount_fils,
            reason=LocalizedText(
                ar="دُفعت الرسوم بعد إلغاء طلب التدريب",
                en="The fee was paid after the training request was cancelled",
            ),
            needs_approval=False,
            payer=request.applicant,
        )
        updated = request.model_copy(
            update={"refund_reference": reference, "refund_status": "requested",
                    "e_payment_number": e_payment_number, "paid_at": paid_at}
        )  # fmt: skip
        return Change(updated, (), (("training.refund.requested.v1", refund),))
    return None


def expire_payment(request: TrainingRequest, now: datetime) -> Change | None:
    """Note 2: the bill expired (or was withdrawn) unpaid: cancelled, once."""
    if request.status is not Status.AWAITING_PAYMENT:
        return None
    reason = LocalizedText(
        ar="لم تُدفع الرسوم خلال المدة المحددة", en="the fee was not paid in time"
    )
    return _cancelled(request, Action.EXPIRE_PAYMENT, now, PAYMENTS, "not_paid", reason)


def _require_started(request: TrainingRequest, now: datetime) -> None:
    if request.application.kind is Kind.MISSION:
        raise RuleBroken("Attendance is recorded for training only, not for a mission.",
                         "يُسجَّل الحضور للتدريب فقط لا لتسهيل المهمة.")  # fmt: skip
    if now < day_start(request.application.start_date):
        raise NotAllowedNow("The training has not started yet.", "لم يبدأ التدريب بعد.")


def record_attendance(request: TrainingRequest, now: datetime, by: str) -> Change:
    _require_started(request, now)
    return _moved(request, Action.RECORD_ATTENDANCE, now, by)


def _withheld(request: TrainingRequest) -> tuple[int, int]:
    fee = request.application.fee_fils
    withheld = fee * NO_SHOW_WITHHELD_PERCENT // 100
    return withheld, fee - withheld


def _cancel_with_refund(
    request: TrainingRequest, action: str, now: datetime, by: str, code: str,
    reason: LocalizedText,
) -> Change:  # fmt: skip
    """Note 3: cancelled, 25 % of the fee withheld, the rest refunded once approved."""
    withheld, refund = _withheld(request)
    reference = refund_reference(request.number, "no_show_refund")
    extra: list[Event] = []
    if refund > 0 and request.payment_reference:
        extra.append((
            "training.refund.requested.v1",
            RefundRequested(
                payment_reference=request.payment_reference,
                refund_reference=reference,
                request_number=request.number,
                amount_fils=refund,
                reason=LocalizedText(
                    ar=f"استرداد {100 - NO_SHOW_WITHHELD_PERCENT}% من رسوم التدريب بعد عدم "
                    f"الحضور في الموعد المؤجل (خُصم {NO_SHOW_WITHHELD_PERCENT}%)",
                    en=f"Refund of {100 - NO_SHOW_WITHHELD_PERCENT} % of the training fee after "
                    f"a no-show at the postponed date ({NO_SHOW_WITHHELD_PERCENT} % withheld)",
                ),
                needs_approval=True,
                payer=request.applicant,
            ),
        ))  # fmt: skip
    return _cancelled(
        request, action, now, by, code, reason, *extra, withheld=withheld, refund=refund,
        refund_reference=reference if extra else None,
        refund_status="pending_approval" if extra else None,
    )  # fmt: skip


def record_no_show(
    request: TrainingRequest, now: datetime, by: str, note: str | None = None
) -> Change:
    """Step 11 (paid GIS training: postponement offered once), note 3 (a no-show at the new
    date: cancelled, 25 % withheld), or free training (decision: cancelled, nothing to refund)."""
    _require_started(request, now)
    if request.status is Status.POSTPONED:
        reason = LocalizedText(
            ar="عدم الحضور في موعد التدريب الجديد بعد التأجيل",
            en="no-show at the new training date after the postponement",
        )
        return _cancel_with_refund(
            request, Action.RECORD_NO_SHOW, now, by, "no_show_after_postponement", reason
        )
    if request.status is Status.APPROVED and request.is_paid_training and not request.is_postponed:
        original = request.application.start_date
        latest = add_months(original, POSTPONE_MONTHS)
        choose_by = day_start(latest)
        offered = TrainingPostponementOffered(
            **_about(request),
            latest_start_date=latest,
            choose_by=choose_by,
        )
        return _moved(
            request, Action.RECORD_NO_SHOW, now, by,
            ("training.request.postponement_offered.v1", offered), branch="paid", reason=note,
            due_at=choose_by, latest_start_date=latest,
        )  # fmt: skip
    reason = LocalizedText(ar="عدم الحضور لمباشرة التدريب", en="no-show at the training")
    return _cancelled(request, Action.RECORD_NO_SHOW, now, by, "no_show", reason, branch="free")


def postpone(
    request: TrainingRequest, new_start: date, now: datetime, calendar: WorkingCalendar
) -> Change:
    """Step 11: the applicant picks the new start, once, within one month of the original."""
    if request.is_postponed:
        raise NotAllowedNow("The training was already postponed once.",
                            "سبق تأجيل التدريب مرة واحدة.", field="start_date")  # fmt: skip
    if request.status is not Status.POSTPONEMENT_OFFERED:
        _find(Action.POSTPONE, request.status)
    original = request.application.start_date
    latest = request.latest_start_date or add_months(original, POSTPONE_MONTHS)
    if new_start > latest:
        raise RuleBroken(
            f"The new start date must be no later than {latest.isoformat()} (one month).",
            f"يجب ألا يتجاوز موعد البدء الجديد {latest.isoformat()} (شهر واحد).",
            field="start_date",
        )
    if new_start <= max(original, local_date(now)):
        raise RuleBroken("The new start date must be after today and after the missed date.",
                         "يجب أن يكون موعد البدء الجديد بعد اليوم وبعد الموعد الفائت.",
                         field="start_date")  # fmt: skip
    if not calendar.is_working_day(new_start):
        raise RuleBroken("The new start date must be a working day.",
                         "يجب أن يكون موعد البدء الجديد يوم عمل.", field="start_date")  # fmt: skip
    app = request.application
    new_end = new_start + (app.end_date - app.start_date)
    moved = app.model_copy(update={"start_date": new_start, "end_date": new_end})
    updated = request.model_copy(update={"application": moved})
    event = TrainingPostponed(**_about(updated), previous_start_date=original)
    return _moved(
        updated, Action.POSTPONE, now, request.owner_subject,
        ("training.request.postponed.v1", event), reason=new_start.isoformat(),
        is_postponed=True, original_start_date=original, due_at=period_end(new_end),
    )  # fmt: skip


def expire_postponement(request: TrainingRequest, now: datetime) -> Change | None:
    """Decision: no new date chosen by the last allowed start counts as a no-show at the new
    date (note 3): cancelled, 25 % withheld, the rest refunded once approved."""
    if request.status is not Status.POSTPONEMENT_OFFERED:
        return None
    reason = LocalizedText(
        ar="لم يُختر موعد جديد للتدريب خلال شهر من الموعد الفائت",
        en="no new training date was chosen within one month of the missed date",
    )
    return _cancel_with_refund(
        request, Action.EXPIRE_POSTPONEMENT, now, SYSTEM, "postponement_not_chosen", reason
    )


def complete(request: TrainingRequest, now: datetime) -> Change | None:
    """Step 12: the period is over (the sweeper on its end)."""
    if request.status not in (Status.APPROVED, Status.ATTENDING, Status.POSTPONED):
        return None
    if now < period_end(request.application.end_date):
        return None
    completed = TrainingRequestCompleted(**_about(request))
    return _moved(
        request, Action.COMPLETE, now, SYSTEM, ("training.request.completed.v1", completed),
        due_at=None,
    )  # fmt: skip


def on_deadline(request: TrainingRequest, now: datetime) -> Change | None:
    """What the sweeper does when `due_at` comes, by state."""
    if request.due_at is None or now < request.due_at:
        return None
    if request.status is Status.AWAITING_CORRECTION:
        return expire_correction(request, now)
    if request.status is Status.POSTPONEMENT_OFFERED:
        return expire_postponement(request, now)
    return complete(request, now)


def refund_decided(
    request: TrainingRequest, reference: str, approved: bool
) -> TrainingRequest | None:
    """Payments decided on our refund: remembered for the inquiry. None: nothing changes."""
    status = "approved" if approved else "rejected"
    if request.refund_reference != reference or request.refund_status == status:
        return None
    return request.model_copy(update={"refund_status": status})


# ---- inquiry ---------------------------------------------------------------------------------


def _jod(fils: int) -> str:
    return f"{fils // 1000}.{fils % 1000:03d}".rstrip("0").rstrip(".")


def amman_time(instant: datetime) -> str:
    return instant.astimezone(AMMAN).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Inquiry:
    status: Status
    label: LocalizedText
    next_step: LocalizedText | None
    deadline: datetime | None
    is_overdue: bool


def inquiry(request: TrainingRequest, now: datetime, calendar: WorkingCalendar) -> Inquiry:
    state = STATES[request.status]
    app = request.application
    deadline: datetime | None = None
    if request.status is Status.UNDER_REVIEW:
        deadline = request.review_due_at
    elif request.status is Status.AWAITING_PAYMENT:
        deadline = request.payment_due_at
    elif request.status in (Status.AWAITING_CORRECTION, Status.POSTPONEMENT_OFFERED):
        deadline = request.due_at
    target = (
        calendar.deadline_after(request.review_started_at, REVIEW_TARGET_WORKING_DAYS)
        if request.review_started_at
        else None
    )
    completed = COMPLETED_TRAINING if app.kind is Kind.TRAINING else COMPLETED_MISSION
    note = request.attachment_note or LocalizedText(ar="-", en="-")
    values = {
        "en": {
            "target": amman_time(target) if target else "-",
            "sla": amman_time(request.review_due_at) if request.review_due_at else "-",
            "due": amman_time(deadline) if deadline else "-",
            "note": note.en,
            "fee": _jod(app.fee_fils),
            "start": app.start_date.isoformat(),
            "end": app.end_date.isoformat(),
            "latest": request.latest_start_date.isoformat() if request.latest_start_date else "-",
            "completed_en": completed.en,
            "completed_ar": completed.ar,
        },
    }
    values["ar"] = {**values["en"], "note": note.ar}
    next_step = None
    if state.next_en and state.next_ar:
        next_step = LocalizedText(
            en=state.next_en.format(**values["en"]), ar=state.next_ar.format(**values["ar"])
        )
    is_overdue = (
        request.status is Status.UNDER_REVIEW
        and request.review_due_at is not None
        and now >= request.review_due_at
    )
    return Inquiry(request.status, state.label, next_step, deadline, is_overdue)


def entry_label(entry: HistoryEntry) -> LocalizedText:
    step = workflow.move_of(WORKFLOW, entry.action, entry.source, entry.target)
    return step.label if step else LocalizedText(ar=entry.action, en=entry.action)
