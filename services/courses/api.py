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
from services.common.idempotency_http import Idempotency, IdempotencyKey
from services.common.listing import Page, Paging
from services.common.problems import Forbidden, NotFound
from services.common.text import IsoAwareDateTime, PersonName, Phone, SafeMultiline, SafeText
from services.common.uploads import Upload, download, read_upload
from services.courses import domain
from services.courses.domain import (
    REQUEST_WORKFLOW,
    STAFF_ROLES,
    Actor,
    Course,
    CourseRequest,
    Prerequisite,
    RequestAction,
    RequestStatus,
)
from services.courses.service import REQUEST_NOT_FOUND, Courses
from services.courses.views import CoursePublic, RequestPublic, request_public

COURSE_CODE = r"^CO-[0-9]{4}-[0-9]{6}$"
REQUEST_NUMBER = r"^CR-[0-9]{4}-[0-9]{6}$"


async def get_courses(request: Request) -> Courses:
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


def actor(user: Principal) -> Actor:
    """The caller as the workflow sees them: their subject and the roles of their token."""
    return Actor(user.subject, user.roles)


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


class PlacementResult(Schema):
    passed: bool
    note: SafeMultiline | None = Field(default=None, max_length=300)


class CourseRequests(Page[RequestPublic]):
    """One page of a course's requests, with the count of every status over all of them."""

    course_code: str
    counts: dict[str, int] = Field(description="How many requests are in each status.")


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
    return CoursePublic.of(await courses.create_course(draft, actor(user)))


@router.post("/courses/{code}/publish", response_model=CoursePublic, tags=["courses"])
async def publish_course(code: CourseCode, user: Admin, courses: CoursesDep) -> CoursePublic:
    """Publish a course: citizens may now ask to attend it."""
    return CoursePublic.of(await courses.publish_course(code, actor(user)))


@router.post("/courses/{code}/reschedule", response_model=CoursePublic, tags=["courses"])
async def reschedule_course(
    code: CourseCode, body: Reschedule, user: Admin, courses: CoursesDep
) -> CoursePublic:
    """Give the course a new start; every applicant still in it gets an SMS with the date."""
    course = await courses.reschedule_course(code, body.starts_at, body.reason, actor(user))
    return CoursePublic.of(course)


@router.post("/courses/{code}/held", response_model=CoursePublic, tags=["courses"])
async def mark_held(code: CourseCode, body: Held, user: Admin, courses: CoursesDep) -> CoursePublic:
    """Record that the course was held; every participant gets the evaluation link."""
    return CoursePublic.of(await courses.mark_held(code, body.evaluation_url, actor(user)))


@router.get("/courses", response_model=Page[CoursePublic], tags=["courses"])
async def list_courses(
    user: CurrentUser, courses: CoursesDep, paging: Paging
) -> Page[CoursePublic]:
    """The courses open to requests or confirmed, soonest first (staff also see drafts and held
    ones)."""
    found, total = await courses.catalogue(
        is_staff=user.has_any(*STAFF_ROLES), skip=paging.skip, limit=paging.limit
    )
    return paging.page_of([CoursePublic.of(course) for course in found], total)


@router.get("/courses/{code}", response_model=CoursePublic, tags=["courses"])
async def get_course(code: CourseCode, user: CurrentUser, courses: CoursesDep) -> CoursePublic:
    """One course, with its seats and whether its minimum is reached."""
    course = await courses.visible_course(code, is_staff=user.has_any(*STAFF_ROLES))
    return CoursePublic.of(course)


@router.get("/courses/{code}/requests", response_model=CourseRequests, tags=["staff"])
async def course_requests(
    code: CourseCode,
    user: Staff,
    courses: CoursesDep,
    paging: Paging,
    status: Annotated[RequestStatus | None, Query(description="Only this status.")] = None,
) -> CourseRequests:
    """Staff lists of a course, in the order the requests came: waiting, approved, awaiting
    payment, awaiting the test; with the count of every status."""
    course, found, total, counts = await courses.requests_of_course(
        code, status, skip=paging.skip, limit=paging.limit
    )
    return CourseRequests(
        items=[request_public(request, course, is_staff=True) for request in found],
        page=paging.page,
        page_size=paging.page_size,
        total=total,
        course_code=code,
        counts=counts,
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
        request = await courses.submit(actor(user), body.course_code, applicant)
        course = await courses.course(request.course_code)
        return 201, request_public(request, course, is_staff=False)

    async def stored(key_id: str) -> tuple[int, Any] | None:
        request = await courses.submission_under(key_id)
        if request is None:
            return None
        course = await courses.course(request.course_code)
        return 201, request_public(request, course, is_staff=False)

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=stored
    )


@router.get("/requests", response_model=Page[RequestPublic], tags=["requests"])
async def my_requests(
    user: CurrentUser, courses: CoursesDep, paging: Paging
) -> Page[RequestPublic]:
    """The caller's own requests, newest first."""
    found, total = await courses.requests_of(user.subject, skip=paging.skip, limit=paging.limit)
    return paging.page_of(
        [request_public(request, course, is_staff=False) for request, course in found], total
    )


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
    request = await courses.record_placement_result(number, body.passed, body.note, actor(user))
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
    request = await courses.attach_proof(number, file.filename or "proof", data, actor(user))
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
    request = await courses.review_proof(number, body.accepted, body.note, actor(user))
    return request_public(request, await courses.course(request.course_code), is_staff=True)
