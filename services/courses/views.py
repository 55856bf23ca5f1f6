"""What the API shows of a course and of a request: the inquiry view.

Labels, the next step and the timeline in Arabic and English, the pending bill with its amount in
JOD. Not rules (those are in `domain/`), and no HTTP: the API answers with these models.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts import Applicant, LocalizedText
from services.common.formatting import PendingBillPublic
from services.common.formatting import TimelineLinePublic as TimelineEntry
from services.common.workflow import SYSTEM, move_of
from services.common.workflow import TimelineEntry as Line
from services.courses.domain import (
    COURSE_WORKFLOW,
    REQUEST_WORKFLOW,
    Course,
    CourseRequest,
    Prerequisite,
    RequestStatus,
)


class CoursePublic(BaseModel):
    code: str
    title: LocalizedText
    fee_fils: int
    is_free: bool
    prerequisite: Prerequisite | None
    minimum: int
    capacity: int
    seats_taken: int
    seats_left: int
    is_minimum_reached: bool
    starts_at: datetime
    schedule: LocalizedText
    place: LocalizedText
    status: str
    is_started: bool
    evaluation_url: str | None

    @classmethod
    def of(cls, course: Course) -> CoursePublic:
        return cls(
            **course.model_dump(include=set(cls.model_fields) & set(Course.model_fields)),
            is_free=course.is_free,
            seats_left=course.capacity - course.seats_taken,
            is_minimum_reached=course.is_minimum_reached,
        )


class ProofPublic(BaseModel):
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    review: str


class RequestPublic(BaseModel):
    number: str
    course_code: str
    status: str
    status_label: LocalizedText
    next_step: LocalizedText
    deadline: datetime | None = Field(description="Until when the next step can be taken.")
    applicant: Applicant
    e_payment_number: str | None
    pending_bill: PendingBillPublic | None = Field(
        description="While the fee waits: its e-payment number, amount and due time, and how "
        "to pay, in Arabic and English."
    )
    proof: ProofPublic | None
    timeline: list[TimelineEntry]


STATUS_LABELS: dict[str, LocalizedText] = {
    RequestStatus.WAITING: LocalizedText(
        ar="بانتظار اكتمال العدد", en="Waiting for the minimum number"
    ),
    RequestStatus.AWAITING_TEST: LocalizedText(
        ar="بانتظار امتحان المستوى", en="Awaiting the placement test"
    ),
    RequestStatus.AWAITING_PAYMENT: LocalizedText(ar="بانتظار دفع الرسوم", en="Awaiting payment"),
    RequestStatus.APPROVED: LocalizedText(ar="مقبول والحجز مؤكد", en="Approved, seat booked"),
    RequestStatus.REFUSED: LocalizedText(ar="مرفوض", en="Refused"),
    RequestStatus.CANCELLED: LocalizedText(ar="ملغى", en="Cancelled"),
    RequestStatus.COMPLETED: LocalizedText(ar="عُقدت الدورة", en="Course held"),
}


def next_step(status: str) -> LocalizedText:
    """What the applicant can expect next, from the workflow table's rows into `status`."""
    for move in REQUEST_WORKFLOW:
        if move.target == status and move.next_en:
            return LocalizedText(ar=move.next_ar, en=move.next_en)
    return LocalizedText(ar="لا شيء: الطلب مغلق", en="Nothing: the request is closed")


def label(entry: Line) -> LocalizedText:
    move = move_of((*REQUEST_WORKFLOW, *COURSE_WORKFLOW), entry.action, entry.source, entry.target)
    if move is None:
        return LocalizedText(ar=entry.action, en=entry.action)
    return LocalizedText(ar=move.label_ar, en=move.label_en)


def shown_by(entry: Line, request: CourseRequest, *, is_staff: bool) -> str:
    """Who acted, as the reader may see it: staff see the subject; a citizen sees that staff
    acted, not which employee (the system and payments by name)."""
    if is_staff or entry.role == SYSTEM:
        return entry.by
    return "applicant" if entry.by == request.owner_subject else "staff"


def request_public(request: CourseRequest, course: Course, *, is_staff: bool) -> RequestPublic:
    waits_for_start = request.status in (
        RequestStatus.AWAITING_TEST,
        RequestStatus.AWAITING_PAYMENT,
    )
    pending_bill = None
    if request.status is RequestStatus.AWAITING_PAYMENT and request.e_payment_number:
        pending_bill = PendingBillPublic.of(
            request.e_payment_number, course.fee_fils, course.starts_at
        )
    return RequestPublic(
        number=request.number,
        course_code=request.course_code,
        status=request.status,
        status_label=STATUS_LABELS[request.status],
        next_step=next_step(request.status),
        deadline=course.starts_at if waits_for_start else None,
        applicant=request.applicant,
        e_payment_number=request.e_payment_number,
        pending_bill=pending_bill,
        proof=None if request.proof is None else ProofPublic(**request.proof.model_dump()),
        timeline=[
            TimelineEntry(
                at=entry.at,
                action=entry.action,
                status_from=entry.source,
                status_to=entry.target,
                label=label(entry),
                by=shown_by(entry, request, is_staff=is_staff),
                reason=entry.why,
            )
            for entry in request.history
        ],
    )
