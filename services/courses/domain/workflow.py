"""The two workflows of seed 002, as data: a course's and a request's states, actions and steps.

Each step says who takes it (its roles: `system` for the service itself or an event of payments),
its timeline labels in Arabic and English, what the applicant can expect next, and for two rows
of one action from one state (a placement-test pass, an accepted proof) the `branch` that picks
one: a free or a paid course. The transitions (`services.common.workflow.moved`), the API's role
checks, the inquiry's labels and the README's diagrams all come from these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.common.workflow import (
    SYSTEM,
    Actor,
    TimelineEntry,
    find_step,
    stored_line,
    system,
)

COURSES_ADMIN = "courses.admin"
COURSES_STAFF = "courses.staff"
# The testing system's machine identity: it may record placement-test results, nothing else.
PLACEMENT_TESTER = "courses.placement_tester"
STAFF_ROLES = (COURSES_ADMIN, COURSES_STAFF)
CITIZEN = "citizen"
PAYMENTS = "payments"

REQUEST_PREFIX = "CR"
COURSE_PREFIX = "CO"
SERVICE = "courses"

# The system acting: the service itself, or payments (a bill's outcome). Their subjects are what
# the timeline has always shown for them ("system", "payments").
BY_SYSTEM: Actor = system(SYSTEM)
BY_PAYMENTS: Actor = system(PAYMENTS)

# The branches of a decision: which of two rows of one action from one state.
FREE = "free"
PAID = "paid"


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


@dataclass(frozen=True)
class Step:
    """One allowed move: `action` takes a course (or request) from `source` to `target`, taken
    by one of `roles`; `by` says who or what starts it, `next_*` what the applicant can expect
    in the target state, `branch` picks between two rows of one action from one state."""

    action: str
    source: str | None
    target: str
    by: str
    label_en: str
    label_ar: str
    roles: tuple[str, ...] = ()
    next_en: str = ""
    next_ar: str = ""
    branch: str | None = None


COURSE_WORKFLOW: tuple[Step, ...] = (
    Step(CourseAction.CREATE, None, CourseStatus.DRAFT, "staff", "Course created", "أُنشئت الدورة",
         (COURSES_ADMIN,)),
    Step(CourseAction.PUBLISH, CourseStatus.DRAFT, CourseStatus.OPEN, "staff",
         "Course published", "نُشرت الدورة", (COURSES_ADMIN,)),
    Step(CourseAction.REACH_MINIMUM, CourseStatus.OPEN, CourseStatus.CONFIRMED,
         "system: an enrolment reached the minimum", "Minimum reached", "اكتمل الحد الأدنى",
         (SYSTEM,)),
    Step(CourseAction.RESCHEDULE, CourseStatus.OPEN, CourseStatus.OPEN, "staff",
         "Course rescheduled", "تغيّر موعد الدورة", (COURSES_ADMIN,)),
    Step(CourseAction.RESCHEDULE, CourseStatus.CONFIRMED, CourseStatus.CONFIRMED, "staff",
         "Course rescheduled", "تغيّر موعد الدورة", (COURSES_ADMIN,)),
    Step(CourseAction.POSTPONE, CourseStatus.OPEN, CourseStatus.OPEN,
         "system: the start came without the minimum (the configured rule)",
         "Course postponed: minimum not reached", "أُجّلت الدورة لعدم اكتمال العدد",
         (SYSTEM,)),
    Step(CourseAction.START, CourseStatus.CONFIRMED, CourseStatus.CONFIRMED,
         "system: the start date came", "Course started", "بدأت الدورة",
         (SYSTEM,)),
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
         "Approved, seat booked", "تمت الموافقة وتأكيد الحجز", (SYSTEM,),
         "Attend the course", "حضور الدورة"),
    Step(RequestAction.REQUIRE_TEST, RequestStatus.WAITING, RequestStatus.AWAITING_TEST,
         "system: minimum reached, no placement-test pass recorded",
         "Placement test required", "مطلوب تقديم امتحان المستوى", (SYSTEM,),
         "Take the placement test", "تقديم امتحان المستوى"),
    Step(RequestAction.REQUEST_PAYMENT, RequestStatus.WAITING, RequestStatus.AWAITING_PAYMENT,
         "system: minimum reached, paid course, prerequisite met",
         "Fee requested", "طُلب دفع الرسوم", (SYSTEM,),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة"),
    Step(RequestAction.PASS_TEST, RequestStatus.AWAITING_TEST, RequestStatus.APPROVED,
         "staff or the testing system: passed, free course",
         "Placement test passed, approved", "النجاح في امتحان المستوى والموافقة على الطلب",
         (COURSES_STAFF, COURSES_ADMIN, PLACEMENT_TESTER), "Attend the course", "حضور الدورة",
         branch=FREE),
    Step(RequestAction.PASS_TEST, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_PAYMENT,
         "staff or the testing system: passed, paid course",
         "Placement test passed, fee requested", "النجاح في امتحان المستوى وطلب دفع الرسوم",
         (COURSES_STAFF, COURSES_ADMIN, PLACEMENT_TESTER),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة", branch=PAID),
    Step(RequestAction.FAIL_TEST, RequestStatus.AWAITING_TEST, RequestStatus.REFUSED,
         "staff or the testing system: failed",
         "Refused: placement test not passed", "رُفض الطلب لعدم النجاح في امتحان المستوى",
         (COURSES_STAFF, COURSES_ADMIN, PLACEMENT_TESTER)),
    Step(RequestAction.PAY, RequestStatus.AWAITING_PAYMENT, RequestStatus.APPROVED,
         "payments: payments.bill.paid.v1", "Fee paid, booking confirmed",
         "دُفعت الرسوم وتأكد الحجز", (SYSTEM,), "Attend the course", "حضور الدورة"),
    Step(RequestAction.CANCEL_UNPAID, RequestStatus.AWAITING_PAYMENT, RequestStatus.CANCELLED,
         "system: not paid before the course started (or the bill expired)",
         "Cancelled: fee not paid before the start", "أُلغي الطلب لعدم دفع الرسوم قبل موعد الدورة",
         (SYSTEM,)),
    Step(RequestAction.CANCEL_UNTESTED, RequestStatus.AWAITING_TEST, RequestStatus.CANCELLED,
         "system: no placement-test result before the course started",
         "Cancelled: no placement test before the start",
         "أُلغي الطلب لعدم تقديم امتحان المستوى قبل موعد الدورة",
         (SYSTEM,)),
    Step(RequestAction.RESCHEDULE, RequestStatus.WAITING, RequestStatus.WAITING,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (SYSTEM,),
         "Waiting for the course's minimum number of participants",
         "بانتظار اكتمال الحد الأدنى لعدد المشاركين"),
    Step(RequestAction.RESCHEDULE, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_TEST,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (SYSTEM,),
         "Take the placement test", "تقديم امتحان المستوى"),
    Step(RequestAction.RESCHEDULE, RequestStatus.AWAITING_PAYMENT, RequestStatus.AWAITING_PAYMENT,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (SYSTEM,),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة"),
    Step(RequestAction.RESCHEDULE, RequestStatus.APPROVED, RequestStatus.APPROVED,
         "system: the course got a new date", "Course date changed", "تغيّر موعد الدورة", (SYSTEM,),
         "Attend the course", "حضور الدورة"),
    Step(RequestAction.COMPLETE, RequestStatus.APPROVED, RequestStatus.COMPLETED,
         "system: the course was held", "Course held, evaluation link sent",
         "عُقدت الدورة وأُرسل رابط التقييم",
         (SYSTEM,)),
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
         (COURSES_STAFF, COURSES_ADMIN), "Attend the course", "حضور الدورة",
         branch=FREE),
    Step(RequestAction.ACCEPT_PROOF, RequestStatus.AWAITING_TEST, RequestStatus.AWAITING_PAYMENT,
         "staff: the proof meets the prerequisite, paid course",
         "Proof accepted, fee requested", "قُبل إثبات المعرفة وطُلب دفع الرسوم",
         (COURSES_STAFF, COURSES_ADMIN),
         "Pay the fee by the e-payment number before the course starts",
         "دفع الرسوم برقم الدفع الإلكتروني قبل بدء الدورة", branch=PAID),
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


def opening(workflow: Sequence[Step], action: str, actor: Actor, now: datetime) -> TimelineEntry:
    """The first timeline line of a new course or request: the row of `action` from nothing,
    taken by `actor` (NotPermitted without one of its roles)."""
    step = find_step(workflow, action, None)
    return TimelineEntry(
        at=now,
        action=step.action,
        source=None,
        target=step.target,
        by=actor.subject,
        role=actor.role_for(step),
    )


def upgraded_lines(workflow: Sequence[Step], lines: Any) -> Any:
    """Timeline lines as stored, read as `TimelineEntry`s (`services.common.workflow.stored_line`
    gives the lines stored before they carried a role the role of their row). Only for reading."""
    if not isinstance(lines, list | tuple):
        return lines
    return [stored_line(workflow, line) if isinstance(line, dict) else line for line in lines]
