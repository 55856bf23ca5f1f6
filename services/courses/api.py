"""The HTTP API of the courses service: course management, enrolment requests, the inquiry.

Translation only: parse, authorise, call the service, shape the answer. Roles come from the
workflow tables (`domain.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import Applicant, LocalizedText
from contracts.phones import jordan_mobile
from services.common.auth import CurrentUser, Principal, ensure_owner, require_roles
from services.common.formatting import PendingBillPublic
from services.common.idempotency import Idempotency, IdempotencyKey
from services.common.problems import Forbidden, NotFound
from services.common.text import IsoAwareDateTime, PersonName, Phone, SafeMultiline, SafeText
from services.common.uploads import Upload, download, read_upload
from services.courses import domain
from services.courses.domain import (
    COURSE_WORKFLOW,
    REQUEST_WORKFLOW,
    STAFF_ROLES,
    Course,
    CourseRequest,
    Prerequisite,
    RequestAction,
    RequestStatus,
)
from services.courses.service import REQUEST_NOT_FOUND, Courses

MAX_PAGE_SIZE = 100
COURSE_CODE = r"^CO-[0-9]{4}-[0-9]{6}$"
REQUEST_NUMBER = r"^CR-[0-9]{4}-[0-9]{6}$"


def get_courses(request: Request) -> Courses:
    courses: Courses = request.app.state.runtime.service
    return courses


CoursesDep = Annotated[Courses, Depends(get_courses)]
Admin = Annotated[Principal, Depends(require_roles(domain.COURSES_ADMIN))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
PlacementRecorder = Annotated[
    Principal,
    Depends(require_roles(*domain.roles_for(REQUEST_WORKFLOW, RequestAction.PASS_TEST))),
]
CourseCode = Annotated[str, Path(pattern=COURSE_CODE, description="The course's code.")]
RequestNumber = Annotated[str, Path(pattern=REQUEST_NUMBER, description="The request number.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip.")]


def _to_the_minute(value: datetime) -> datetime:
    # A course starts on a minute; seconds would only make two equal dates differ.
    return value.astimezone(UTC).replace(second=0, microsecond=0)


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text(Schema):
    ar: SafeText = Field(min_length=1, max_length=200)
    en: SafeText = Field(min_length=1, max_length=200)

    def localized(self) -> LocalizedText:
        return LocalizedText(ar=self.ar, en=self.en)


class PrerequisiteIn(Schema):
    subject_code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    subject: Text
    placement_test_url: str = Field(pattern=r"^https://[^\s]{3,300}$")


class CourseCreate(Schema):
    title: Text
    fee_fils: int = Field(ge=0, le=10_000_000, description="0 for a free course.")
    prerequisite: PrerequisiteIn | None = None
    minimum: int = Field(ge=1, le=1000, description="Participants needed to hold the course.")
    capacity: int = Field(ge=1, le=1000, description="Seats; a full course takes no request.")
    starts_at: IsoAwareDateTime
    schedule: Text
    place: Text

    @field_validator("starts_at")
    @classmethod
    def _on_the_minute(cls, value: datetime) -> datetime:
        return _to_the_minute(value)


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


class Reschedule(Schema):
    starts_at: IsoAwareDateTime
    reason: SafeMultiline | None = Field(default=None, max_length=300)

    @field_validator("starts_at")
    @classmethod
    def _on_the_minute(cls, value: datetime) -> datetime:
        return _to_the_minute(value)


class Held(Schema):
    evaluation_url: str = Field(pattern=r"^https://[^\s]{3,300}$")


class ApplicantIn(Schema):
    name: PersonName = Field(min_length=2, max_length=100)
    phone: Phone
    lang: Literal["ar", "en"] = "ar"
    national_id: str = Field(
        pattern=r"^[0-9]{10}$", description="National number, or a resident's personal number."
    )

    @field_validator("phone")
    @classmethod
    def _jordanian_mobile(cls, value: str) -> str:
        return jordan_mobile(value)  # InvalidPhone is a ValueError: a 422 naming the field


class RequestCreate(Schema):
    course_code: str = Field(pattern=COURSE_CODE)
    applicant: ApplicantIn


class ProofReview(Schema):
    accepted: bool
    note: SafeMultiline | None = Field(default=None, max_length=300)


class ProofPublic(BaseModel):
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    review: str


class PlacementResult(Schema):
    passed: bool
    note: SafeMultiline | None = Field(default=None, max_length=300)


class TimelineEntry(BaseModel):
    at: datetime
    action: str
    status_from: str | None
    status_to: str
    label: LocalizedText
    by: str
    reason: str | None


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


class CourseRequests(BaseModel):
    course_code: str
    counts: dict[str, int]
    items: list[RequestPublic]


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


def _label(entry: domain.HistoryEntry) -> LocalizedText:
    for move in (*REQUEST_WORKFLOW, *COURSE_WORKFLOW):
        if (move.action, move.source, move.target) == (entry.action, entry.source, entry.target):
            return LocalizedText(ar=move.label_ar, en=move.label_en)
    return LocalizedText(ar=entry.action, en=entry.action)


def request_public(request: CourseRequest, course: Course, *, is_staff: bool) -> RequestPublic:
    next_en, next_ar = domain.next_step(request.status)
    waits_for_start = request.status in (
        RequestStatus.AWAITING_TEST,
        RequestStatus.AWAITING_PAYMENT,
    )
    return RequestPublic(
        number=request.number,
        course_code=request.course_code,
        status=request.status,
        status_label=STATUS_LABELS[request.status],
        next_step=LocalizedText(ar=next_ar, en=next_en),
        deadline=course.starts_at if waits_for_start else None,
        applicant=request.applicant,
        e_payment_number=request.e_payment_number,
        pending_bill=PendingBillPublic.of(
            request.e_payment_number, course.fee_fils, course.starts_at
        )
        if request.status is RequestStatus.AWAITING_PAYMENT and request.e_payment_number
        else None,
        proof=None if request.proof is None else ProofPublic(**request.proof.model_dump()),
        timeline=[
            TimelineEntry(
                at=entry.at,
                action=entry.action,
                status_from=entry.source,
                status_to=entry.target,
                label=_label(entry),
                # A citizen sees that staff acted, not which employee.
                by=entry.by if is_staff or entry.by in (domain.SYSTEM, domain.PAYMENTS) else
                ("applicant" if entry.by == request.owner_subject else "staff"),
                reason=entry.reason,
            )
            for entry in request.history
        ],
    )  # fmt: skip


router = APIRouter(prefix="/v1")


# ---- course management -----------------------------------------------------------------------


@router.post("/courses", status_code=201, response_model=CoursePublic, tags=["courses"])
async def create_course(body: CourseCreate, user: Admin, courses: CoursesDep) -> CoursePublic:
    """Create a course (a draft: citizens see it once published)."""
    prerequisite = None
    if body.prerequisite is not None:
        prerequisite = Prerequisite(
            subject_code=body.prerequisite.subject_code,
            subject=body.prerequisite.subject.localized(),
            placement_test_url=body.prerequisite.placement_test_url,
        )
    draft = Course(
        code="new",
        title=body.title.localized(),
        fee_fils=body.fee_fils,
        prerequisite=prerequisite,
        minimum=body.minimum,
        capacity=body.capacity,
        starts_at=body.starts_at,
        schedule=body.schedule.localized(),
        place=body.place.localized(),
    )
    return CoursePublic.of(await courses.create_course(draft, user.subject))


@router.post("/courses/{code}/publish", response_model=CoursePublic, tags=["courses"])
async def publish_course(code: CourseCode, user: Admin, courses: CoursesDep) -> CoursePublic:
    """Publish a course: citizens may now ask to attend it."""
    return CoursePublic.of(await courses.publish_course(code, user.subject))


@router.post("/courses/{code}/reschedule", response_model=CoursePublic, tags=["courses"])
async def reschedule_course(
    code: CourseCode, body: Reschedule, user: Admin, courses: CoursesDep
) -> CoursePublic:
    """Give the course a new start; every applicant still in it gets an SMS with the date."""
    course = await courses.reschedule_course(code, body.starts_at, body.reason, user.subject)
    return CoursePublic.of(course)


@router.post("/courses/{code}/held", response_model=CoursePublic, tags=["courses"])
async def mark_held(code: CourseCode, body: Held, user: Admin, courses: CoursesDep) -> CoursePublic:
    """Record that the course was held; every participant gets the evaluation link."""
    return CoursePublic.of(await courses.mark_held(code, body.evaluation_url, user.subject))


@router.get("/courses", response_model=list[CoursePublic], tags=["courses"])
async def list_courses(user: CurrentUser, courses: CoursesDep) -> list[CoursePublic]:
    """The courses open to requests or confirmed (staff also see drafts and held ones)."""
    statuses = [domain.CourseStatus.OPEN, domain.CourseStatus.CONFIRMED]
    if user.has_any(*STAFF_ROLES):
        statuses += [domain.CourseStatus.DRAFT, domain.CourseStatus.HELD]
    return [CoursePublic.of(course) for course in await courses.store.list_courses(statuses)]


@router.get("/courses/{code}", response_model=CoursePublic, tags=["courses"])
async def get_course(code: CourseCode, user: CurrentUser, courses: CoursesDep) -> CoursePublic:
    """One course, with its seats and whether its minimum is reached."""
    course = await courses.course(code)
    if course.status is domain.CourseStatus.DRAFT and not user.has_any(*STAFF_ROLES):
        raise NotFound("No such course.", "لا توجد دورة بهذا الرمز.")
    return CoursePublic.of(course)


@router.get("/courses/{code}/requests", response_model=CourseRequests, tags=["staff"])
async def course_requests(
    code: CourseCode,
    user: Staff,
    courses: CoursesDep,
    status: Annotated[RequestStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CourseRequests:
    """Staff lists of a course: waiting, approved, awaiting payment, awaiting the test."""
    course = await courses.course(code)
    every = await courses.store.requests_of_course(code, None, 10_000, 0)
    counts = {state.value: 0 for state in RequestStatus}
    for request in every:
        counts[request.status] += 1
    chosen = [r for r in every if status is None or r.status is status][offset : offset + limit]
    return CourseRequests(
        course_code=code,
        counts=counts,
        items=[request_public(request, course, is_staff=True) for request in chosen],
    )


# ---- requests ----------------------------------------------------------------------------------


@router.post("/requests", status_code=201, response_model=RequestPublic, tags=["requests"])
async def submit_request(
    body: RequestCreate,
    user: CurrentUser,
    courses: CoursesDep,
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Ask to attend a course. The decision waits for the course's minimum number."""
    if not user.is_citizen:
        raise Forbidden(
            "Only citizens and residents ask to attend a course.",
            "يقدّم طلب حضور الدورة المواطنون والمقيمون فقط.",
        )
    applicant = Applicant(**body.applicant.model_dump())

    async def create() -> tuple[int, Any]:
        request = await courses.submit(user.subject, body.course_code, applicant)
        course = await courses.course(request.course_code)
        return 201, request_public(request, course, is_staff=False)

    async def stored(key_id: str) -> tuple[int, Any] | None:
        found = await courses.store.request_created_under(key_id)
        if found is None:
            return None
        request = await courses.finish_submission(found)
        course = await courses.course(request.course_code)
        return 201, request_public(request, course, is_staff=False)

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=stored
    )


@router.get("/requests", response_model=list[RequestPublic], tags=["requests"])
async def my_requests(
    user: CurrentUser, courses: CoursesDep, limit: Limit = 20, offset: Offset = 0
) -> list[RequestPublic]:
    """The caller's own requests, newest first."""
    found = await courses.store.requests_of_owner(user.subject, limit, offset)
    return [
        request_public(request, await courses.course(request.course_code), is_staff=False)
        for request in found
    ]


@router.get("/requests/{number}", response_model=RequestPublic, tags=["requests"])
async def inquire(number: RequestNumber, user: CurrentUser, courses: CoursesDep) -> RequestPublic:
    """The inquiry screen: status, next step, deadline and timeline, in Arabic and English."""
    request = await courses.request(number)
    ensure_owner(
        user,
        request.owner_subject,
        staff_roles=(*STAFF_ROLES, domain.PLACEMENT_TESTER),
        not_found=NotFound(*REQUEST_NOT_FOUND),
    )
    course = await courses.course(request.course_code)
    return request_public(request, course, is_staff=user.has_any(*STAFF_ROLES))


@router.post(
    "/requests/{number}/placement-test-result", response_model=RequestPublic, tags=["staff"]
)
async def record_placement_result(
    number: RequestNumber, body: PlacementResult, user: PlacementRecorder, courses: CoursesDep
) -> RequestPublic:
    """Record the placement test's result (staff, or the testing system's identity)."""
    request = await courses.record_placement_result(number, body.passed, body.note, user.subject)
    course = await courses.course(request.course_code)
    return request_public(request, course, is_staff=True)


ProofReviewer = Annotated[
    Principal,
    Depends(require_roles(*domain.roles_for(REQUEST_WORKFLOW, RequestAction.ACCEPT_PROOF))),
]


async def _owned(number: str, user: Principal, courses: Courses) -> CourseRequest:
    request = await courses.request(number)
    ensure_owner(
        user,
        request.owner_subject,
        staff_roles=STAFF_ROLES,
        not_found=NotFound(*REQUEST_NOT_FOUND),
    )
    return request


@router.put("/requests/{number}/proof", response_model=RequestPublic, tags=["requests"])
async def attach_proof(
    number: RequestNumber,
    user: CurrentUser,
    courses: CoursesDep,
    file: Upload,
) -> RequestPublic:
    """Attach proof of the prerequisite (replaces one not yet accepted); staff review it."""
    request = await _owned(number, user, courses)
    if user.subject != request.owner_subject:
        raise NotFound(*REQUEST_NOT_FOUND)
    data = await read_upload(file, courses.upload_rules)
    request = await courses.attach_proof(number, file.filename or "proof", data)
    return request_public(request, await courses.course(request.course_code), is_staff=False)


@router.get("/requests/{number}/proof", tags=["requests"], response_class=Response)
async def download_proof(number: RequestNumber, user: CurrentUser, courses: CoursesDep) -> Response:
    """The attached proof, with the content type found in its bytes."""
    request = await _owned(number, user, courses)
    return download(*await courses.proof_file(request))


@router.post("/requests/{number}/proof/review", response_model=RequestPublic, tags=["staff"])
async def review_proof(
    number: RequestNumber, body: ProofReview, user: ProofReviewer, courses: CoursesDep
) -> RequestPublic:
    """Accept or reject the proof of prior knowledge (staff)."""
    request = await courses.review_proof(number, body.accepted, body.note, user.subject)
    return request_public(request, await courses.course(request.course_code), is_staff=True)
