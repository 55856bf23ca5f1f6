"""A course: the arbiter of its counts (seats taken, the requests holding them, the minimum).

Each function takes the course as it stands and returns its new value, or raises a
`DomainError`; None means there is nothing to do. The store keeps the timeline lines the new
value gained (`history`) and writes it only over the version it was decided on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from contracts import LocalizedText
from contracts.courses import CourseDetails
from services.common.errors import NotAllowedNow, RuleBroken
from services.common.workflow import Actor, StoredRecord, TimelineEntry, moved
from services.courses.domain.workflow import (
    BY_SYSTEM,
    COURSE_WORKFLOW,
    CourseAction,
    CourseStatus,
    opening,
    upgraded_lines,
)


class Prerequisite(StoredRecord):
    """The knowledge or skill a course needs, and where its placement test is taken."""

    subject_code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    subject: LocalizedText
    placement_test_url: str


class Course(StoredRecord):
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
    history: tuple[TimelineEntry, ...] = ()

    @field_validator("history", mode="before")
    @classmethod
    def _stored_before_roles(cls, lines: Any) -> Any:
        return upgraded_lines(COURSE_WORKFLOW, lines)

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


def new_course(course: Course, now: datetime, actor: Actor) -> Course:
    if course.capacity < course.minimum:
        raise RuleBroken(
            "The capacity cannot be below the minimum number of participants.",
            "لا يجوز أن يقل عدد المقاعد عن الحد الأدنى لعدد المشاركين.",
        )
    _require_future(course.starts_at, now)
    entry = opening(COURSE_WORKFLOW, CourseAction.CREATE, actor, now)
    return course.model_copy(update={"status": CourseStatus.DRAFT, "history": (entry,)})


def publish(course: Course, now: datetime, actor: Actor) -> Course:
    _require_future(course.starts_at, now)
    return moved(
        course, COURSE_WORKFLOW, CourseAction.PUBLISH, actor, now, start_due_at=course.starts_at
    )


def enrol(course: Course, number: str, owner: str, now: datetime) -> Course | None:
    """Take a seat for request `number`; the enrolment that reaches the minimum confirms it.
    None: the request holds its seat already (a submission finished on a retry)."""
    if number in course.enrolled:
        return None
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
    seated = course.model_copy(
        update={
            "seats_taken": course.seats_taken + 1,
            "enrolled": (*course.enrolled, number),
            "enrolled_owners": (*course.enrolled_owners, owner),
        }
    )
    if seated.status is CourseStatus.OPEN and seated.seats_taken >= seated.minimum:
        return moved(
            seated, COURSE_WORKFLOW, CourseAction.REACH_MINIMUM, BY_SYSTEM, now,
            why=number, sync_at=now,
        )  # fmt: skip
    if seated.is_minimum_reached:
        # A later request is decided at once: the sync picks it up now.
        return seated.model_copy(update={"sync_at": now})
    return seated


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
    course: Course, starts_at: datetime, now: datetime, actor: Actor, reason: str | None
) -> Course:
    """Staff give the course a new date; every active applicant is told (note 2)."""
    if course.is_started:
        raise NotAllowedNow("The course has already started.", "بدأت الدورة بالفعل.")
    _require_future(starts_at, now)
    return moved(
        course,
        COURSE_WORKFLOW,
        CourseAction.RESCHEDULE,
        actor,
        now,
        why=reason,
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


def on_start(course: Course, now: datetime, postpone_days: int) -> Course | None:
    """The start date came. Without the minimum, the rule postpones it (step 5, note 2);
    with it, the course starts and unpaid or untested requests are cancelled (note 1).
    None: the start is not (or no longer) due, e.g. a second sweep after the first moved it."""
    if course.start_due_at is None or course.start_due_at > now:
        return None
    if course.status is CourseStatus.OPEN:
        new_start = postponed_start(course.starts_at, now, postpone_days)
        return moved(
            course,
            COURSE_WORKFLOW,
            CourseAction.POSTPONE,
            BY_SYSTEM,
            now,
            why=f"minimum {course.minimum} not reached ({course.seats_taken} requests)",
            starts_at=new_start,
            start_due_at=new_start,
            previous_starts_at=course.starts_at,
            schedule_version=course.schedule_version + 1,
            sync_at=now,
        )
    return moved(
        course, COURSE_WORKFLOW, CourseAction.START, BY_SYSTEM, now,
        is_started=True, start_due_at=None, sync_at=now,
    )  # fmt: skip


def mark_held(course: Course, now: datetime, actor: Actor, evaluation_url: str) -> Course:
    if now < course.starts_at:
        raise NotAllowedNow(
            "A course cannot be marked held before it starts.",
            "لا يمكن اعتبار الدورة منعقدة قبل بدئها.",
        )
    return moved(
        course,
        COURSE_WORKFLOW,
        CourseAction.MARK_HELD,
        actor,
        now,
        is_started=True,
        start_due_at=None,
        evaluation_url=evaluation_url,
        sync_at=now,
    )


def _require_future(instant: datetime, now: datetime) -> None:
    if instant <= now:
        raise RuleBroken("The start date must be in the future.", "يجب أن يكون موعد البدء لاحقاً.")
