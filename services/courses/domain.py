"""Courses and the requests to attend them (seed 002): states, the workflow tables, every rule.

Pure: no I/O. A **course** is the arbiter of its counts: it holds its seats taken, the numbers of
the requests holding them and whether the minimum was reached. A **request** waits until its course
reaches the minimum, then is decided by its branch; each function takes the current values and
returns the new ones with the events to publish (a `Change`), or raises a `DomainError`.

The requests of a course converge to the course's state through `sync_request`: once the course
is confirmed a waiting request is decided, once it is rescheduled an active request is told the new
date, once it has started an unpaid or untested request is cancelled, once it is held a booked
participant is sent the evaluation link. Each of these moves is guarded by the request's own state,
so running the sync twice (two replicas, a retried sweep) changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import (
    Applicant,
    ContractModel,
    LocalizedText,
    PaymentCancelled,
    PaymentRequested,
    reference,
)
from contracts.courses import (
    CourseDetails,
    CourseEvaluationRequested,
    CourseRequestApproved,
    CourseRequestCancelled,
    CourseRequestPaid,
    CourseRequestRefused,
    CourseRequestRescheduled,
    CourseRequestSubmitted,
    PlacementTestRequired,
)
from contracts.payments import RefundRequested
from services.common.errors import DomainError as DomainError
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import RuleBroken as RuleBroken
from services.common.workflow import HistoryEntry as HistoryEntry
from services.common.workflow import roles_for as roles_for
from services.common.workflow import state_diagram as state_diagram

COURSES_ADMIN = "courses.admin"
COURSES_STAFF = "courses.staff"
# The testing system's machine identity: it may record placement-test results, nothing else.
PLACEMENT_TESTER = "courses.placement_tester"
STAFF_ROLES = (COURSES_ADMIN, COURSES_STAFF)
CITIZEN = "citizen"
SYSTEM = "system"
PAYMENTS = "payments"

REQUEST_PREFIX = "CR"
COURSE_PREFIX = "CO"
SERVICE = "courses"


class CourseStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # published, waiting for its minimum number of participants
    CONFIRMED = "confirmed"  # the minimum was reached: it will be held
    HELD = "held"


class CourseAction(StrEnum):
    CREATE = "create"
    PUBLISH = "publish"
    REACH_MINIMUM = "reach_minimum"
    RESCHEDULE = "reschedule"
    POSTPONE = "postpone"
    START = "start"
    MARK_HELD = "mark_held"


class RequestStatus(StrEnum):
    WAITING = "waiting"  # for the course's minimum
    AWAITING_TEST = "awaiting_test"
    AWAITING_PAYMENT = "awaiting_payment"
    APPROVED = "approved"  # booked: free and approved, or paid
    REFUSED = "refused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # the course was held; the evaluation link was sent


class RequestAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REQUIRE_TEST = "require_test"
    REQUEST_PAYMENT = "request_payment"
    PASS_TEST = "pass_test"
    FAIL_TEST = "fail_test"
    PAY = "pay"
    CANCEL_UNPAID = "cancel_unpaid"
    CANCEL_UNTESTED = "cancel_untested"
    RESCHEDULE = "reschedule"
    COMPLETE = "complete"
    ATTACH_PROOF = "attach_proof"
    ACCEPT_PROOF = "accept_proof"
    REJECT_PROOF = "reject_proof"


# Requests that hold a seat and still hear about their course.
ACTIVE = (
    RequestStatus.WAITING,
    RequestStatus.AWAITING_TEST,
    RequestStatus.AWAITING_PAYMENT,
    RequestStatus.APPROVED,
)
FINAL = (RequestStatus.REFUSED, RequestStatus.CANCELLED, RequestStatus.COMPLETED)


# ---- the workflows, as data ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One allowed move: `action` takes a course (or request) from `source` to `target`."""

    action: str
    source: str | None
    target: str
    by: str
    label_en: str
    label_ar: str
    roles: tuple[str, ...] = ()
    next_en: str = ""
    next_ar: str = ""


COURSE_WORKFLOW: tuple[Step, ...] = (
    Step(CourseAction.CREATE, None, CourseStatus.DRAFT, "staff", "Course created", "أُنشئت الدورة",
         (COURSES_ADMIN,)),
    Step(CourseAction.PUBLISH, CourseStatus.DRAFT, CourseStatus.OPEN, "staff",
         "Course published", "نُشرت الدورة", (COURSES_ADMIN,)),
    Step(CourseAction.REACH_MINIMUM, CourseStatus.OPEN, CourseStatus.CONFIRMED,
         "system: an enrolment reached the minimum", "Minimum reached", "اكتمل الحد الأدنى"),
    Step(CourseAction.RESCHEDULE, CourseStatus.OPEN, CourseStatus.OPEN, "staff",
         "Course rescheduled", "تغيّر موعد الدورة", (COURSES_ADMIN,)),
    Step(CourseAction.RESCHEDULE, CourseStatus.CONFIRMED, CourseStatus.CONFIRMED, "staff",
         "Course rescheduled", "تغيّر موعد الدورة", (COURSES_ADMIN,)),
    Step(CourseAction.POSTPONE, CourseStatus.OPEN, CourseStatus.OPEN,
         "system: the start came without the minimum (the configured rule)",
         "Course postponed: minimum not reached", "أُجّلت الدورة لعدم اكتمال العدد"),
    Step(CourseAction.START, CourseStatus.CONFIRMED, CourseStatus.CONFIRMED,
         "system: the start date came", "Course started", "بدأت الدورة"),
    Step(CourseAction.MARK_HELD, CourseStatus.CONFIRMED, CourseStatus.HELD, "staff",
         "Course held", "عُقدت الدورة", (COURSES_ADMIN,)),
)  # fmt: skip

REQUEST_WORKFLOW: tuple[Step, ...] = (
    Step(RequestAction.SUBMIT, None, RequestStatus.WAITING, "citizen",
         "Request received", "استُلم الطلب", (CITIZEN,),
         "Waiting for the course's minimum number of participants",
         "بانتظار اكتمال الحد الأدنى لعدد المشاركين"),
    Step(RequestAction.APPROVE, RequestStatus.WAITING, RequestStatus.APPROVED,
         "system: minimum reached, free course, prerequisite met",
         "Approved, seat booked", "تمت الموافقة وتأكيد الحجز", (),
         "Attend the course", "حضور الدورة"),
    Step(RequestAction.REQUIRE_TEST, RequestStatus.WAITING, RequestStatus.AWAITING_TEST,
         "system: minimum reached, no placement-test pass recorded",
         "Placement test required", "مطلوب تقديم امتحان المستوى", (),
         "Take the placement test", "تقديم امتحان المستوى"),
    Step(RequestAction.REQUEST_PAYMENT, RequestStatus.WAITING, RequestStatus.AWAITING_PAYMENT,
         "system: minimum reached, paid course, prerequisite met",
         "Fee requested", "طُلب دفع الرسوم", (),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة"),
    Step(RequestAction.PASS_TEST, RequestStatus.AWAITING_TEST, RequestStatus.APPROVED,
         "staff or the testing system: passed, free course",
         "Placement test passed, approved", "النجاح في امتحان المستوى والموافقة على الطلب",
         (COURSES_STAFF, COURSES_ADMIN, PLACEMENT_TESTER), "Attend the course", "حضور الدورة"),
    Step(RequestAction.PASS_TEST, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_PAYMENT,
         "staff or the testing system: passed, paid course",
         "Placement test passed, fee requested", "النجاح في امتحان المستوى وطلب دفع الرسوم",
         (COURSES_STAFF, COURSES_ADMIN, PLACEMENT_TESTER),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة"),
    Step(RequestAction.FAIL_TEST, RequestStatus.AWAITING_TEST, RequestStatus.REFUSED,
         "staff or the testing system: failed",
         "Refused: placement test not passed", "رُفض الطلب لعدم النجاح في امتحان المستوى",
         (COURSES_STAFF, COURSES_ADMIN, PLACEMENT_TESTER)),
    Step(RequestAction.PAY, RequestStatus.AWAITING_PAYMENT, RequestStatus.APPROVED,
         "payments: payments.bill.paid.v1", "Fee paid, booking confirmed",
         "دُفعت الرسوم وتأكد الحجز", (), "Attend the course", "حضور الدورة"),
    Step(RequestAction.CANCEL_UNPAID, RequestStatus.AWAITING_PAYMENT, RequestStatus.CANCELLED,
         "system: not paid before the course started (or the bill expired)",
         "Cancelled: fee not paid before the start", "أُلغي الطلب لعدم دفع الرسوم قبل موعد الدورة"),
    Step(RequestAction.CANCEL_UNTESTED, RequestStatus.AWAITING_TEST, RequestStatus.CANCELLED,
         "system: no placement-test result before the course started",
         "Cancelled: no placement test before the start",
         "أُلغي الطلب لعدم تقديم امتحان المستوى قبل موعد الدورة"),
    Step(RequestAction.RESCHEDULE, RequestStatus.WAITING, RequestStatus.WAITING,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (),
         "Waiting for the course's minimum number of participants",
         "بانتظار اكتمال الحد الأدنى لعدد المشاركين"),
    Step(RequestAction.RESCHEDULE, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_TEST,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (),
         "Take the placement test", "تقديم امتحان المستوى"),
    Step(RequestAction.RESCHEDULE, RequestStatus.AWAITING_PAYMENT, RequestStatus.AWAITING_PAYMENT,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة"),
    Step(RequestAction.RESCHEDULE, RequestStatus.APPROVED, RequestStatus.APPROVED,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (),
         "Attend the course", "حضور الدورة"),
    Step(RequestAction.COMPLETE, RequestStatus.APPROVED, RequestStatus.COMPLETED,
         "system: the course was held", "Course held, evaluation link sent",
         "عُقدت الدورة وأُرسل رابط التقييم"),
    Step(RequestAction.ATTACH_PROOF, RequestStatus.WAITING, RequestStatus.WAITING,
         "citizen: uploads proof of prior knowledge", "Proof of prior knowledge attached",
         "أُرفق إثبات المعرفة المسبقة", (CITIZEN,),
         "Waiting for the course's minimum number of participants",
         "بانتظار اكتمال الحد الأدنى لعدد المشاركين"),
    Step(RequestAction.ATTACH_PROOF, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_TEST,
         "citizen: uploads proof of prior knowledge", "Proof of prior knowledge attached",
         "أُرفق إثبات المعرفة المسبقة", (CITIZEN,),
         "Take the placement test, or wait for the review of the proof",
         "تقديم امتحان المستوى أو انتظار تدقيق الإثبات"),
    Step(RequestAction.ACCEPT_PROOF, RequestStatus.WAITING, RequestStatus.WAITING,
         "staff: the proof meets the prerequisite", "Proof accepted", "قُبل إثبات المعرفة",
         (COURSES_STAFF, COURSES_ADMIN),
         "Waiting for the course's minimum number of participants",
         "بانتظار اكتمال الحد الأدنى لعدد المشاركين"),
    Step(RequestAction.ACCEPT_PROOF, RequestStatus.AWAITING_TEST, RequestStatus.APPROVED,
         "staff: the proof meets the prerequisite, free course",
         "Proof accepted, approved", "قُبل إثبات المعرفة وتمت الموافقة",
         (COURSES_STAFF, COURSES_ADMIN), "Attend the course", "حضور الدورة"),
    Step(RequestAction.ACCEPT_PROOF, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_PAYMENT,
         "staff: the proof meets the prerequisite, paid course",
         "Proof accepted, fee requested", "قُبل إثبات المعرفة وطُلب دفع الرسوم",
         (COURSES_STAFF, COURSES_ADMIN),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة"),
    Step(RequestAction.REJECT_PROOF, RequestStatus.WAITING, RequestStatus.WAITING,
         "staff: the proof does not meet the prerequisite", "Proof not accepted",
         "لم يُقبل إثبات المعرفة", (COURSES_STAFF, COURSES_ADMIN),
         "Waiting for the course's minimum number of participants",
         "بانتظار اكتمال الحد الأدنى لعدد المشاركين"),
    Step(RequestAction.REJECT_PROOF, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_TEST,
         "staff: the proof does not meet the prerequisite", "Proof not accepted",
         "لم يُقبل إثبات المعرفة", (COURSES_STAFF, COURSES_ADMIN),
         "Take the placement test", "تقديم امتحان المستوى"),
)  # fmt: skip


def step(workflow: tuple[Step, ...], action: str, source: str | None) -> Step:
    """The move `action` makes from `source`; NotAllowedNow if the table has none."""
    for candidate in workflow:
        if candidate.action == action and candidate.source == source:
            return candidate
    raise NotAllowedNow(
        f"'{action}' is not possible while the status is '{source}'.",
        f"لا يمكن تنفيذ الإجراء '{action}' في الحالة '{source}'.",
    )


def next_step(status: str) -> tuple[str, str]:
    """What the applicant can expect next, in English and Arabic, for the inquiry screen."""
    for move in REQUEST_WORKFLOW:
        if move.target == status and move.next_en:
            return move.next_en, move.next_ar
    return "Nothing: the request is closed", "لا شيء: الطلب مغلق"


# ---- the aggregates --------------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Prerequisite(Record):
    """The knowledge or skill a course needs, and where its placement test is taken."""

    subject_code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    subject: LocalizedText
    placement_test_url: str


ProofReview = Literal["pending", "accepted", "rejected"]


class Proof(Record):
    """Proof of prior knowledge: the file is in the service's GridFS bucket, checked by its
    bytes (PDF, PNG or JPEG) and its size; staff review it."""

    file_id: str
    content_type: str
    size: int
    filename: str
    uploaded_at: datetime
    review: ProofReview = "pending"
    reviewed_by: str | None = None


class Course(Record):
    code: str
    title: LocalizedText
    fee_fils: int = Field(ge=0)
    prerequisite: Prerequisite | None = None
    minimum: int = Field(ge=1)
    capacity: int = Field(ge=1)
    starts_at: datetime
    schedule: LocalizedText
    place: LocalizedText
    status: CourseStatus = CourseStatus.DRAFT
    version: int = 1
    seats_taken: int = 0
    # The request numbers holding a seat, and their owners (one active request per citizen).
    enrolled: tuple[str, ...] = ()
    enrolled_owners: tuple[str, ...] = ()
    # Bumped at each new date: a request told of an older one hears of the new one.
    schedule_version: int = 1
    previous_starts_at: datetime | None = None
    is_started: bool = False
    evaluation_url: str | None = None
    # Deadlines found by the sweepers: the start, and "requests must catch up with me".
    start_due_at: datetime | None = None
    sync_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def is_free(self) -> bool:
        return self.fee_fils == 0

    @property
    def needs_prerequisite(self) -> bool:
        return self.prerequisite is not None

    @property
    def is_minimum_reached(self) -> bool:
        return self.status in (CourseStatus.CONFIRMED, CourseStatus.HELD)

    def details(self) -> CourseDetails:
        return CourseDetails(
            code=self.code,
            title=self.title,
            starts_at=self.starts_at,
            schedule=self.schedule,
            place=self.place,
            fee_fils=self.fee_fils,
        )


class CourseRequest(Record):
    number: str
    owner_subject: str
    course_code: str
    applicant: Applicant
    status: RequestStatus = RequestStatus.WAITING
    version: int = 1
    schedule_version: int = 1
    created_at: datetime
    payment_reference: str | None = None
    e_payment_number: str | None = None
    is_refund_requested: bool = False
    placement_passed: bool | None = None
    proof: Proof | None = None
    # Set until the request holds its seat (see `SEAT_CHECK_AFTER`).
    seat_check_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()


Event = tuple[str, ContractModel]


@dataclass(frozen=True)
class Change:
    """A request's new value, the history entries it gained and the events it publishes."""

    request: CourseRequest
    entries: tuple[HistoryEntry, ...] = ()
    events: tuple[Event, ...] = ()
    # The seat is given back to the course (refused, cancelled).
    releases_seat: bool = False
    # The applicant passed the placement test: remember it for later courses.
    records_pass: bool = False


@dataclass(frozen=True)
class CourseChange:
    course: Course
    entries: tuple[HistoryEntry, ...] = ()


def _entry(move: Step, at: datetime, by: str, reason: str | None = None) -> HistoryEntry:
    return HistoryEntry(
        at=at, action=move.action, source=move.source, target=move.target, by=by, reason=reason
    )


def _course_move(
    course: Course, action: CourseAction, now: datetime, by: str, reason: str | None = None,
    **changes: object,
) -> CourseChange:  # fmt: skip
    move = step(COURSE_WORKFLOW, action, course.status)
    entry = _entry(move, now, by, reason)
    updated = course.model_copy(
        update={"status": CourseStatus(move.target), **changes, "history": (*course.history, entry)}
    )
    return CourseChange(updated, (entry,))


# ---- courses ---------------------------------------------------------------------------------


def new_course(course: Course, now: datetime, by: str) -> Course:
    if course.capacity < course.minimum:
        raise RuleBroken(
            "The capacity cannot be below the minimum number of participants.",
            "لا يجوز أن يقل عدد المقاعد عن الحد الأدنى لعدد المشاركين.",
        )
    _require_future(course.starts_at, now)
    move = step(COURSE_WORKFLOW, CourseAction.CREATE, None)
    return course.model_copy(
        update={"status": CourseStatus.DRAFT, "history": (_entry(move, now, by),)}
    )


def publish(course: Course, now: datetime, by: str) -> CourseChange:
    _require_future(course.starts_at, now)
    return _course_move(course, CourseAction.PUBLISH, now, by, start_due_at=course.starts_at)


def enrol(course: Course, number: str, owner: str, now: datetime) -> CourseChange:
    """Take a seat for request `number`; the enrolment that reaches the minimum confirms it."""
    if course.status not in (CourseStatus.OPEN, CourseStatus.CONFIRMED) or course.is_started:
        raise NotAllowedNow(
            "This course no longer takes requests.", "لم تعد هذه الدورة تستقبل طلبات."
        )
    if owner in course.enrolled_owners:
        raise NotAllowedNow(
            "You already have a request for this course.", "لديك طلب سابق لهذه الدورة."
        )
    # Seed silent on capacity: a full course refuses new requests (no waiting list).
    if course.seats_taken >= course.capacity:
        raise NotAllowedNow(
            "This course is full: every seat is taken.", "اكتمل عدد المقاعد في هذه الدورة."
        )
    seats = course.seats_taken + 1
    changes: dict[str, object] = {
        "seats_taken": seats,
        "enrolled": (*course.enrolled, number),
        "enrolled_owners": (*course.enrolled_owners, owner),
    }
    if course.status is CourseStatus.OPEN and seats >= course.minimum:
        return _course_move(
            course, CourseAction.REACH_MINIMUM, now, SYSTEM, number, sync_at=now, **changes
        )
    if course.is_minimum_reached:
        # A later request is decided at once: the sync picks it up now.
        changes["sync_at"] = now
    return CourseChange(course.model_copy(update=changes))


def release_seat(course: Course, number: str, owner: str) -> Course | None:
    """Give back the seat of a refused or cancelled request (None: it held none)."""
    if number not in course.enrolled:
        return None
    return course.model_copy(
        update={
            "seats_taken": course.seats_taken - 1,
            "enrolled": tuple(n for n in course.enrolled if n != number),
            "enrolled_owners": tuple(o for o in course.enrolled_owners if o != owner),
        }
    )


def reschedule(
    course: Course, starts_at: datetime, now: datetime, by: str, reason: str | None
) -> CourseChange:
    """Staff give the course a new date; every active applicant is told (note 2)."""
    if course.is_started:
        raise NotAllowedNow("The course has already started.", "بدأت الدورة بالفعل.")
    _require_future(starts_at, now)
    return _course_move(
        course,
        CourseAction.RESCHEDULE,
        now,
        by,
        reason,
        starts_at=starts_at,
        start_due_at=starts_at,
        previous_starts_at=course.starts_at,
        schedule_version=course.schedule_version + 1,
        sync_at=now,
    )


def postponed_start(starts_at: datetime, now: datetime, days: int) -> datetime:
    """The configured rule: the same weekday and hour, `days` later, and after now."""
    new_start = starts_at + timedelta(days=days)
    while new_start <= now:
        new_start += timedelta(days=days)
    return new_start


def on_start(course: Course, now: datetime, postpone_days: int) -> CourseChange:
    """The start date came. Without the minimum, the rule postpones it (step 5, note 2);
    with it, the course starts and unpaid or untested requests are cancelled (note 1)."""
    if course.status is CourseStatus.OPEN:
        new_start = postponed_start(course.starts_at, now, postpone_days)
        return _course_move(
            course,
            CourseAction.POSTPONE,
            now,
            SYSTEM,
            f"minimum {course.minimum} not reached ({course.seats_taken} requests)",
            starts_at=new_start,
            start_due_at=new_start,
            previous_starts_at=course.starts_at,
            schedule_version=course.schedule_version + 1,
            sync_at=now,
        )
    return _course_move(
        course, CourseAction.START, now, SYSTEM, is_started=True, start_due_at=None, sync_at=now
    )


def mark_held(course: Course, now: datetime, by: str, evaluation_url: str) -> CourseChange:
    if now < course.starts_at:
        raise NotAllowedNow(
            "A course cannot be marked held before it starts.",
            "لا يمكن اعتبار الدورة منعقدة قبل بدئها.",
        )
    return _course_move(
        course,
        CourseAction.MARK_HELD,
        now,
        by,
        is_started=True,
        start_due_at=None,
        evaluation_url=evaluation_url,
        sync_at=now,
    )


def _require_future(instant: datetime, now: datetime) -> None:
    if instant <= now:
        raise RuleBroken("The start date must be in the future.", "يجب أن يكون موعد البدء لاحقاً.")


# ---- requests --------------------------------------------------------------------------------


def record_bill(request: CourseRequest, reference: str, e_payment_number: str) -> Change | None:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the current bill, once; no event."""
    if (
        request.status is not RequestStatus.AWAITING_PAYMENT
        or request.payment_reference != reference
        or request.e_payment_number is not None
    ):
        return None
    return Change(request.model_copy(update={"e_payment_number": e_payment_number}))


def payment_reference(number: str) -> str:
    return reference(SERVICE, number, "fee")


# A new request must have its seat by then; if not (the process died in between), it is removed.
SEAT_CHECK_AFTER = timedelta(minutes=10)


def submit(number: str, owner: str, course: Course, applicant: Applicant, now: datetime) -> Change:
    move = step(REQUEST_WORKFLOW, RequestAction.SUBMIT, None)
    entry = _entry(move, now, owner)
    request = CourseRequest(
        number=number,
        owner_subject=owner,
        course_code=course.code,
        applicant=applicant,
        status=RequestStatus.WAITING,
        schedule_version=course.schedule_version,
        created_at=now,
        seat_check_at=now + SEAT_CHECK_AFTER,
        history=(entry,),
    )
    return Change(request, (entry,), (submitted_event(request, course),))


def submitted_event(request: CourseRequest, course: Course) -> Event:
    submitted = CourseRequestSubmitted(
        request_number=request.number,
        course=course.details(),
        submitted_at=request.created_at,
        applicant=request.applicant,
        owner_subject=request.owner_subject,
    )
    return ("courses.request.submitted.v1", submitted)


def _move(
    change: Change, action: RequestAction, now: datetime, by: str, reason: str | None = None,
    *events: Event, **updates: object,
) -> Change:  # fmt: skip
    request = change.request
    target = updates.pop("target", None)
    candidates = [s for s in REQUEST_WORKFLOW if s.action == action and s.source == request.status]
    move = next((s for s in candidates if target is None or s.target == target), None)
    if move is None:
        step(REQUEST_WORKFLOW, action, request.status)  # raises NotAllowedNow
        raise AssertionError("unreachable")
    entry = _entry(move, now, by, reason)
    updated = request.model_copy(
        update={"status": RequestStatus(move.target), **updates,
                "history": (*request.history, entry)}
    )  # fmt: skip
    return Change(
        updated,
        (*change.entries, entry),
        (*change.events, *events),
        change.releases_seat,
        change.records_pass,
    )


def _book_or_bill(
    change: Change, action: RequestAction, course: Course, now: datetime, by: str
) -> Change:
    """The prerequisite is met: a free course is approved, a paid one billed (6.x / 7.x)."""
    request = change.request
    if course.is_free:
        approved = CourseRequestApproved(
            request_number=request.number,
            course=course.details(),
            applicant=request.applicant,
            owner_subject=request.owner_subject,
        )
        return _move(
            change, action, now, by, None, ("courses.request.approved.v1", approved),
            target=RequestStatus.APPROVED,
        )  # fmt: skip
    reference = payment_reference(request.number)
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request.number,
        amount_fils=course.fee_fils,
        description=LocalizedText(
            ar=f"رسوم دورة: {course.title.ar}"[:200], en=f"Course fee: {course.title.en}"[:200]
        ),
        # Seed 002, note 1: not paid before the course starts -> cancelled.
        due_at=course.starts_at,
        payer=request.applicant,
        service_type="courses.course_fee",
        owner_subject=request.owner_subject,
    )
    return _move(
        change, action, now, by, None, ("courses.payment.requested.v1", payment),
        target=RequestStatus.AWAITING_PAYMENT, payment_reference=reference,
    )  # fmt: skip


def decide(request: CourseRequest, course: Course, has_pass: bool, now: datetime) -> Change:
    """The course reached its minimum: decide a waiting request by its branch (6.1-7.3)."""
    change = Change(request)
    prerequisite = course.prerequisite
    is_proven = request.proof is not None and request.proof.review == "accepted"
    if prerequisite is not None and not has_pass and not is_proven:
        required = PlacementTestRequired(
            request_number=request.number,
            course=course.details(),
            subject=prerequisite.subject,
            placement_test_url=prerequisite.placement_test_url,
            applicant=request.applicant,
            owner_subject=request.owner_subject,
        )
        return _move(
            change, RequestAction.REQUIRE_TEST, now, SYSTEM, None,
            ("courses.request.placement_test_required.v1", required),
        )  # fmt: skip
    action = RequestAction.APPROVE if course.is_free else RequestAction.REQUEST_PAYMENT
    return _book_or_bill(change, action, course, now, SYSTEM)


def record_placement_result(
    request: CourseRequest, course: Course, passed: bool, now: datetime, by: str,
    note: str | None = None,
) -> Change:  # fmt: skip
    """6.3.1 / 7.3.1 (pass: approved or billed) and 6.3.2 / 7.3.2 (fail: refused)."""
    if request.status is not RequestStatus.AWAITING_TEST:
        step(REQUEST_WORKFLOW, RequestAction.PASS_TEST, request.status)
    prerequisite = course.prerequisite
    assert prerequisite is not None  # a request awaits a test only for such a course
    if passed:
        change = Change(request.model_copy(update={"placement_passed": True}), records_pass=True)
        return _book_or_bill(change, RequestAction.PASS_TEST, course, now, by)
    refused = CourseRequestRefused(
        request_number=request.number,
        course=course.details(),
        subject=prerequisite.subject,
        applicant=request.applicant,
        owner_subject=request.owner_subject,
    )
    change = _move(
        Change(request), RequestAction.FAIL_TEST, now, by, note,
        ("courses.request.refused.v1", refused), placement_passed=False,
    )  # fmt: skip
    return Change(change.request, change.entries, change.events, releases_seat=True)


def pay(
    request: CourseRequest, course: Course, e_payment_number: str, paid_at: datetime,
    amount_fils: int, now: datetime,
) -> Change | None:  # fmt: skip
    """7.4: the bill was paid. None: nothing to do (a redelivery, or already settled)."""
    if request.status is RequestStatus.AWAITING_PAYMENT:
        paid = CourseRequestPaid(
            request_number=request.number,
            course=course.details(),
            e_payment_number=e_payment_number,
            paid_at=paid_at,
            applicant=request.applicant,
            owner_subject=request.owner_subject,
        )
        return _move(
            Change(request), RequestAction.PAY, now, PAYMENTS, None,
            ("courses.request.paid.v1", paid), e_payment_number=e_payment_number,
        )  # fmt: skip
    if request.status is RequestStatus.CANCELLED and not request.is_refund_requested:
        # Paid after the cancellation crossed the bill's withdrawal: the money goes back.
        reference = payment_reference(request.number)
        refund = RefundRequested(
            payment_reference=reference,
            refund_reference=f"{SERVICE}:{request.number}:late_payment_refund",
            request_number=request.number,
            amount_fils=amount_fils,
            reason=LocalizedText(
                ar="دُفعت الرسوم بعد إلغاء طلب حضور الدورة",
                en="The fee was paid after the course request was cancelled",
            ),
            needs_approval=False,
            payer=request.applicant,
        )
        updated = request.model_copy(update={"is_refund_requested": True})
        return Change(updated, (), (("courses.refund.requested.v1", refund),))
    return None


def cancel(
    request: CourseRequest, course: Course, now: datetime, *, bill_withdrawn: bool
) -> Change | None:
    """Note 1: unpaid (or untested) when the course starts, or the bill expired: cancelled."""
    if request.status is RequestStatus.AWAITING_PAYMENT:
        action = RequestAction.CANCEL_UNPAID
        reason = LocalizedText(
            ar="لم تُدفع الرسوم قبل موعد بدء الدورة",
            en="the fee was not paid before the course started",
        )
    elif request.status is RequestStatus.AWAITING_TEST:
        action = RequestAction.CANCEL_UNTESTED
        reason = LocalizedText(
            ar="لم يُقدَّم امتحان المستوى قبل موعد بدء الدورة",
            en="the placement test was not taken before the course started",
        )
    else:
        return None
    cancelled = CourseRequestCancelled(
        request_number=request.number,
        course=course.details(),
        reason=reason,
        applicant=request.applicant,
        owner_subject=request.owner_subject,
    )
    events: list[Event] = [("courses.request.cancelled.v1", cancelled)]
    if request.payment_reference and not bill_withdrawn:
        events.append(
            (
                "courses.payment.cancelled.v1",
                PaymentCancelled(
                    payment_reference=request.payment_reference,
                    request_number=request.number,
                    reason="the course started before the fee was paid",
                ),
            )
        )
    change = _move(Change(request), action, now, SYSTEM, reason.en, *events)
    return Change(change.request, change.entries, change.events, releases_seat=True)


def sync_request(
    request: CourseRequest, course: Course, has_pass: bool, now: datetime
) -> Change | None:
    """Bring one request up to date with its course (see the module docstring)."""
    change: Change | None = None
    if request.status is RequestStatus.WAITING and course.is_minimum_reached:
        change = decide(request, course, has_pass, now)
    current = change.request if change else request
    if current.status in ACTIVE and current.schedule_version < course.schedule_version:
        previous = _previous_start(course)
        rescheduled = CourseRequestRescheduled(
            request_number=current.number,
            course=course.details(),
            previous_starts_at=previous,
            minimum_not_reached=not course.is_minimum_reached,
            applicant=current.applicant,
            owner_subject=current.owner_subject,
        )
        change = _move(
            change or Change(current), RequestAction.RESCHEDULE, now, SYSTEM, None,
            ("courses.request.rescheduled.v1", rescheduled),
            schedule_version=course.schedule_version,
        )  # fmt: skip
    current = change.request if change else request
    if course.is_started and current.status in (
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.AWAITING_TEST,
    ):
        cancelled = cancel(current, course, now, bill_withdrawn=False)
        assert cancelled is not None
        change = _merge(change, cancelled)
    current = change.request if change else request
    if (
        course.status is CourseStatus.HELD
        and current.status is RequestStatus.APPROVED
        and course.evaluation_url
    ):
        evaluation = CourseEvaluationRequested(
            request_number=current.number,
            course=course.details(),
            evaluation_url=course.evaluation_url,
            applicant=current.applicant,
            owner_subject=current.owner_subject,
        )
        change = _move(
            change or Change(current), RequestAction.COMPLETE, now, SYSTEM, None,
            ("courses.request.evaluation_requested.v1", evaluation),
        )  # fmt: skip
    return change


def _merge(first: Change | None, second: Change) -> Change:
    if first is None:
        return second
    return Change(
        second.request,
        (*first.entries, *second.entries),
        (*first.events, *second.events),
        first.releases_seat or second.releases_seat,
        first.records_pass or second.records_pass,
    )


def _previous_start(course: Course) -> datetime:
    return course.previous_starts_at or course.starts_at


# ---- proof of prior knowledge ----------------------------------------------------------------


def attach_proof(request: CourseRequest, course: Course, proof: Proof, now: datetime) -> Change:
    """The applicant attaches proof of the prerequisite; it waits for a staff review."""
    if course.prerequisite is None:
        raise RuleBroken(
            "This course has no prerequisite: no proof is needed.",
            "لا تتطلب هذه الدورة معرفة مسبقة، فلا حاجة لإثبات.",
        )
    if request.proof is not None and request.proof.review == "accepted":
        raise NotAllowedNow("The proof was already accepted.", "قُبل الإثبات سابقاً.")
    return _move(
        Change(request), RequestAction.ATTACH_PROOF, now, request.owner_subject,
        proof.filename, proof=proof,
    )  # fmt: skip


def review_proof(
    request: CourseRequest, course: Course, accepted: bool, now: datetime, by: str,
    note: str | None = None,
) -> Change:  # fmt: skip
    """Staff decide on the proof. Accepted: the prerequisite is met (and remembered, like a pass);
    a request already awaiting the test goes on as after a pass."""
    proof = request.proof
    if proof is None or proof.review != "pending":
        raise NotAllowedNow("There is no proof awaiting review.", "لا يوجد إثبات بانتظار التدقيق.")
    reviewed = proof.model_copy(
        update={"review": "accepted" if accepted else "rejected", "reviewed_by": by}
    )
    updated = request.model_copy(update={"proof": reviewed})
    if not accepted:
        return _move(Change(updated), RequestAction.REJECT_PROOF, now, by, note)
    if request.status is RequestStatus.AWAITING_TEST:
        change = Change(updated, records_pass=True)
        return _book_or_bill(change, RequestAction.ACCEPT_PROOF, course, now, by)
    change = _move(Change(updated), RequestAction.ACCEPT_PROOF, now, by, note)
    return Change(change.request, change.entries, change.events, records_pass=True)
