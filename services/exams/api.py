"""The HTTP API: the public catalogue, citizens' requests and inquiry, coordinators' actions.

Routes only translate: authorise (the roles come from the workflow table), call the use case,
shape the answer. Domain refusals are left to escape: the shared problem handlers answer each
with its problem response (`services.common.problems.problem_of`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts import Language, LocalizedText
from contracts.exams import ExamCentre, ExamDetails
from services.common.auth import Principal, ensure_owner, require_roles
from services.common.formatting import AMMAN, PendingBillPublic
from services.common.idempotency_http import Idempotency, IdempotencyKey
from services.common.listing import Page, Paging
from services.common.problems import NotFound
from services.common.text import (
    IsoAwareDateTime,
    IsoDate,
    PersonName,
    Phone,
    SafeMultiline,
    SafeText,
)
from services.common.workflow import Actor, Step, roles_for
from services.exams import views
from services.exams.domain import (
    CITIZEN,
    COORDINATOR,
    OUTCOME_LABELS,
    REQUEST_WORKFLOW,
    SESSION_WORKFLOW,
    ApplicationForm,
    ExamRequest,
    ExamSession,
    ExamType,
    IdType,
    Outcome,
    RequestAction,
    RequestStatus,
    SessionAction,
    SessionStatus,
)
from services.exams.service import Exams, request_not_found
from services.exams.store import RequestQuery, SessionQuery


async def get_exams(request: Request) -> Exams:
    exams: Exams = request.app.state.runtime.service
    return exams


def allowed_to(workflow: tuple[Step, ...], action: str) -> Any:
    """The dependency admitting the roles the workflow table allows for `action` (403 others)."""
    return Depends(require_roles(*roles_for(workflow, action)))


ExamsDep = Annotated[Exams, Depends(get_exams)]
Reader = Annotated[Principal, Depends(require_roles(CITIZEN, COORDINATOR))]
Coordinator = Annotated[Principal, Depends(require_roles(COORDINATOR))]
Applicant = Annotated[Principal, allowed_to(REQUEST_WORKFLOW, RequestAction.SUBMIT)]
Withdrawer = Annotated[Principal, allowed_to(REQUEST_WORKFLOW, RequestAction.WITHDRAW)]
AttendanceTaker = Annotated[
    Principal, allowed_to(REQUEST_WORKFLOW, RequestAction.RECORD_ATTENDANCE)
]
AbsenceTaker = Annotated[Principal, allowed_to(REQUEST_WORKFLOW, RequestAction.RECORD_ABSENCE)]
ResultRecorder = Annotated[Principal, allowed_to(REQUEST_WORKFLOW, RequestAction.RECORD_RESULT)]
CertificateGiver = Annotated[
    Principal, allowed_to(REQUEST_WORKFLOW, RequestAction.RECORD_COLLECTION)
]
Scheduler = Annotated[Principal, allowed_to(SESSION_WORKFLOW, SessionAction.SCHEDULE)]


def actor(user: Principal) -> Actor:
    return Actor(user.subject, user.roles)


def is_staff(user: Principal) -> bool:
    return user.has_role(COORDINATOR)


async def owned_request(exams: Exams, number: str, user: Principal) -> ExamRequest:
    """The request, if the caller owns it or is a coordinator; 404 otherwise (never 403, so
    request numbers cannot be probed)."""
    request = await exams.request(number)  # 404 when there is none...
    unknown = request_not_found(number)  # ...and the very same 404 when it is someone else's
    not_yours = NotFound(unknown.detail, unknown.detail_ar)
    ensure_owner(user, request.owner_subject, staff_roles=(COORDINATOR,), not_found=not_yours)
    return request


# ---- schemas: in ---------------------------------------------------------------------------


class _Body(BaseModel):
    # A field the API does not know is a mistake the caller should hear about.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RequestCreate(_Body):
    """The request form (seed 004): the exam's type and name, and who will sit it."""

    exam_type: ExamType = Field(description="official (accredited certificate) or trial.")
    exam_code: str = Field(
        min_length=1,
        max_length=64,
        description="The exam's code, from GET /v1/catalogue.",
        examples=["icdl-documents"],
    )
    applicant_name: PersonName = Field(
        min_length=2,
        max_length=100,
        description="The candidate's full name, as on their identity document.",
        examples=["ليلى أحمد الحداد"],
    )
    id_type: IdType = Field(
        description="national_number (Jordanians) or personal_number (residents)."
    )
    id_number: str = Field(
        min_length=1,
        max_length=30,
        description="The national number (10 digits) or the resident's personal number.",
        examples=["9871012345"],
    )
    phone: Phone
    lang: Language = Field(default="ar", description="Language of the SMS: ar or en.")

    def form(self) -> ApplicationForm:
        return ApplicationForm(
            exam_type=self.exam_type,
            exam_code=self.exam_code,
            applicant_name=self.applicant_name,
            id_type=self.id_type,
            id_number=self.id_number,
            phone=self.phone,
            lang=self.lang,
        )


class Note(_Body):
    note: SafeMultiline | None = Field(
        default=None, max_length=500, description="Why, for the timeline (optional)."
    )


class ResultRecord(_Body):
    outcome: Outcome = Field(description="passed or failed, after the results were reviewed.")
    score: int | None = Field(default=None, ge=0, le=100, description="The mark out of 100.")
    note: SafeMultiline | None = Field(
        default=None, max_length=500, description="Staff note (optional)."
    )


class CollectionRecord(_Body):
    collected_by: SafeText | None = Field(
        default=None,
        min_length=2,
        max_length=100,
        description="Who received the certificate, if not the candidate (a delegate's name and "
        "the number of their authorisation).",
    )


class ScheduleRecord(_Body):
    exam_at: IsoAwareDateTime = Field(
        description="When the exam starts, with its UTC offset (e.g. 2026-06-07T10:00:00+03:00): "
        "a future working day.",
    )
    venue: LocalizedText | None = Field(
        default=None, description="Where it is held; the exam's centre when not given."
    )


# ---- schemas: out --------------------------------------------------------------------------


class TimelineEntryPublic(BaseModel):
    at: datetime
    action: str
    label: LocalizedText
    source: str | None = Field(description="The state before.")
    source_label: LocalizedText | None
    target: str = Field(description="The state after.")
    target_label: LocalizedText
    role: str = Field(
        description="The role under which it was done: citizen, exams.coordinator, or system."
    )
    by: str | None = Field(description="Who did it; shown to coordinators only.")
    why: str | None


class DeadlinePublic(BaseModel):
    at: datetime
    label: LocalizedText
    is_overdue: bool


class FeePublic(BaseModel):
    amount_fils: int
    currency: str = "JOD"
    payment_reference: str
    due_at: datetime
    e_payment_number: str | None
    paid_at: datetime | None


class ResultPublic(BaseModel):
    outcome: Outcome
    outcome_label: LocalizedText
    score: int | None
    recorded_at: datetime
    note: str | None = Field(description="Staff note; shown to coordinators only.")


class ApplicantPublic(BaseModel):
    name: str
    phone: str
    lang: Language
    id_type: IdType
    id_number: str | None


class SessionBrief(BaseModel):
    session_number: str
    status: SessionStatus
    status_label: LocalizedText
    minimum: int
    candidates: int
    date_due_at: datetime | None
    is_overdue: bool
    exam_at: datetime | None


class RequestPublic(BaseModel):
    """The request-inquiry screen: status, next step, deadline and timeline, in Arabic and
    English."""

    request_number: str
    status: RequestStatus
    status_label: LocalizedText
    next_step: LocalizedText | None
    deadline: DeadlinePublic | None
    exam: ExamDetails
    centre: ExamCentre
    applicant: ApplicantPublic
    fee: FeePublic
    pending_bill: PendingBillPublic | None = Field(
        description="While the fee waits: its e-payment number, amount and due time, and how "
        "to pay, in Arabic and English."
    )
    session: SessionBrief | None
    exam_at: datetime | None
    venue: LocalizedText | None
    documents: LocalizedText = Field(description="The identity documents to bring.")
    result: ResultPublic | None
    collected_at: datetime | None
    collected_by: str | None
    submitted_at: datetime
    version: int
    timeline: list[TimelineEntryPublic]

    @classmethod
    def of(
        cls, request: ExamRequest, session: ExamSession | None, *, now: datetime, for_staff: bool
    ) -> RequestPublic:
        inquiry = views.inquiry(request, session, now)
        return cls(
            request_number=request.request_number,
            status=request.status,
            status_label=inquiry.status_label,
            next_step=inquiry.next_step,
            deadline=None
            if inquiry.deadline is None
            else DeadlinePublic(
                at=inquiry.deadline.at,
                label=inquiry.deadline.label,
                is_overdue=inquiry.deadline.is_overdue,
            ),
            exam=request.exam,
            centre=request.centre,
            applicant=ApplicantPublic(
                name=request.applicant.name,
                phone=request.applicant.phone,
                lang=request.applicant.lang,
                id_type=request.id_type,
                id_number=request.applicant.national_id,
            ),
            fee=FeePublic(
                amount_fils=request.fee.amount_fils,
                payment_reference=request.fee.payment_reference,
                due_at=request.fee.due_at,
                e_payment_number=request.fee.e_payment_number,
                paid_at=request.fee.paid_at,
            ),
            pending_bill=PendingBillPublic.of(
                request.fee.e_payment_number, request.fee.amount_fils, request.fee.due_at
            )
            if request.status is RequestStatus.AWAITING_PAYMENT
            and request.fee.e_payment_number is not None
            else None,
            session=None if session is None else _session_brief(session, now),
            exam_at=request.exam_at,
            venue=request.venue,
            documents=request.documents,
            result=None
            if request.result is None
            else ResultPublic(
                outcome=request.result.outcome,
                outcome_label=OUTCOME_LABELS[request.result.outcome],
                score=request.result.score,
                recorded_at=request.result.recorded_at,
                note=request.result.note if for_staff else None,
            ),
            collected_at=request.collected_at,
            collected_by=request.collected_by,
            submitted_at=request.submitted_at,
            version=request.version,
            timeline=_timeline(inquiry.timeline, for_staff=for_staff),
        )


class RequestSummary(BaseModel):
    request_number: str
    status: RequestStatus
    status_label: LocalizedText
    exam_code: str
    exam_type: ExamType
    exam_name: LocalizedText
    applicant_name: str
    session_number: str | None
    exam_at: datetime | None
    submitted_at: datetime

    @classmethod
    def of(cls, request: ExamRequest) -> RequestSummary:
        return cls(
            request_number=request.request_number,
            status=request.status,
            status_label=views.status_label(request.status),
            exam_code=request.exam.code,
            exam_type=request.exam_type,
            exam_name=request.exam.name,
            applicant_name=request.applicant.name,
            session_number=request.session_number,
            exam_at=request.exam_at,
            submitted_at=request.submitted_at,
        )


class SessionPublic(BaseModel):
    session_number: str
    status: SessionStatus
    status_label: LocalizedText
    next_step: LocalizedText | None
    exam: ExamDetails
    centre: ExamCentre
    minimum: int
    seats: int
    candidates: list[str] = Field(description="The request numbers of its paid candidates.")
    opened_at: datetime
    minimum_reached_at: datetime | None
    date_due_at: datetime | None = Field(description="The date must be set before this.")
    is_overdue: bool
    overdue_since: datetime | None
    exam_at: datetime | None
    venue: LocalizedText | None
    scheduled_at: datetime | None
    version: int
    timeline: list[TimelineEntryPublic]

    @classmethod
    def of(cls, session: ExamSession, *, now: datetime) -> SessionPublic:
        return cls(
            session_number=session.session_number,
            status=session.status,
            status_label=views.status_label(session.status),
            next_step=views.session_next_step(session),
            exam=session.exam,
            centre=session.centre,
            minimum=session.minimum,
            seats=session.seats,
            candidates=list(session.candidates),
            opened_at=session.opened_at,
            minimum_reached_at=session.minimum_reached_at,
            date_due_at=session.date_due_at,
            is_overdue=session.is_overdue(now),
            overdue_since=session.overdue_since,
            exam_at=session.exam_at,
            venue=session.venue,
            scheduled_at=session.scheduled_at,
            version=session.version,
            timeline=_timeline(views.session_timeline(session), for_staff=True),
        )


class CatalogueEntry(BaseModel):
    code: str
    type: ExamType
    type_label: LocalizedText
    name: LocalizedText
    subject: LocalizedText
    fee_fils: int = Field(description="The fee of the exam's subject, in fils (1 JOD = 1000).")
    currency: str = "JOD"
    granting_body: LocalizedText | None
    min_candidates: int | None = Field(description="Paid candidates an official session needs.")
    centre: ExamCentre


def _session_brief(session: ExamSession, now: datetime) -> SessionBrief:
    return SessionBrief(
        session_number=session.session_number,
        status=session.status,
        status_label=views.status_label(session.status),
        minimum=session.minimum,
        candidates=len(session.candidates),
        date_due_at=session.date_due_at,
        is_overdue=session.is_overdue(now),
        exam_at=session.exam_at,
    )


def _timeline(
    lines: tuple[views.TimelineLine, ...], *, for_staff: bool
) -> list[TimelineEntryPublic]:
    return [
        TimelineEntryPublic(
            at=line.entry.at,
            action=line.entry.action,
            label=line.label,
            source=line.entry.source,
            source_label=line.source_label,
            target=line.entry.target,
            target_label=line.target_label,
            role=line.entry.role,
            by=line.entry.by if for_staff else None,
            why=line.entry.why,
        )
        for line in lines
    ]


def _amman_day(day: date, *, end: bool = False) -> datetime:
    """The instant a day starts in Amman (or, with `end`, the instant it is over)."""
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=AMMAN)


# ---- routes --------------------------------------------------------------------------------

router = APIRouter(prefix="/v1")


@router.get("/catalogue", response_model=Page[CatalogueEntry], tags=["catalogue"])
async def get_catalogue(exams: ExamsDep, paging: Paging) -> Page[CatalogueEntry]:
    """The exams on offer, with their type, subject, fee and granting body (no login needed),
    in the catalogue's order."""
    catalogue = exams.catalogue
    offered = catalogue.offered()
    return paging.page_of(
        [
            CatalogueEntry(
                code=exam.code,
                type=exam.type,
                type_label=views.EXAM_TYPE_LABELS[exam.type],
                name=exam.name,
                subject=catalogue.subject_of(exam).name,
                fee_fils=catalogue.fee_of(exam),
                granting_body=exam.granting_body,
                min_candidates=exam.min_candidates,
                centre=catalogue.centre_of(exam).contract(),
            )
            for exam in offered[paging.skip : paging.skip + paging.limit]
        ],
        len(offered),
    )


@router.post("/requests", status_code=201, response_model=RequestPublic, tags=["requests"])
async def submit_request(
    body: RequestCreate,
    user: Applicant,
    exams: ExamsDep,
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Confirm a request to sit an exam: the fee's e-payment number is sent by SMS."""

    async def create() -> tuple[int, Any]:
        request = await exams.submit(body.form(), actor(user))
        return 201, RequestPublic.of(request, None, now=exams.now(), for_staff=is_staff(user))

    async def stored(key_id: str) -> tuple[int, Any] | None:
        request = await exams.created_under(key_id)
        if request is None:
            return None
        return 201, RequestPublic.of(request, None, now=exams.now(), for_staff=is_staff(user))

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=stored
    )


@router.get("/requests", response_model=Page[RequestSummary], tags=["requests"])
async def list_requests(
    user: Reader,
    exams: ExamsDep,
    paging: Paging,
    status: RequestStatus | None = None,
    exam_code: Annotated[str | None, Query(max_length=64)] = None,
    session_number: Annotated[str | None, Query(max_length=32)] = None,
    overdue: Annotated[
        bool | None, Query(description="Only candidates of sessions whose date is overdue.")
    ] = None,
    submitted_from: Annotated[IsoDate | None, Query(description="First day (Amman).")] = None,
    submitted_to: Annotated[IsoDate | None, Query(description="Last day (Amman).")] = None,
) -> Page[RequestSummary]:
    """A citizen's own requests; for coordinators every request, filtered. Newest first."""
    query = RequestQuery(
        owner_subject=None if is_staff(user) else user.subject,
        status=status,
        exam_code=exam_code,
        submitted_from=None if submitted_from is None else _amman_day(submitted_from),
        submitted_to=None if submitted_to is None else _amman_day(submitted_to, end=True),
    )
    requests, total = await exams.search_requests(
        query,
        session_number=session_number,
        overdue=overdue,
        skip=paging.skip,
        limit=paging.limit,
    )
    return paging.page_of([RequestSummary.of(request) for request in requests], total)


@router.get("/requests/{number}", response_model=RequestPublic, tags=["requests"])
async def get_request(number: str, user: Reader, exams: ExamsDep) -> RequestPublic:
    """The request-inquiry screen: status, next step, deadline and timeline."""
    return await _answer(exams, await owned_request(exams, number, user), user)


async def _answer(exams: Exams, request: ExamRequest, user: Principal) -> RequestPublic:
    session = await exams.session_of(request)
    return RequestPublic.of(request, session, now=exams.now(), for_staff=is_staff(user))


@router.post("/requests/{number}/withdrawal", response_model=RequestPublic, tags=["requests"])
async def withdraw_request(
    number: str, body: Note, user: Withdrawer, exams: ExamsDep
) -> RequestPublic:
    """Withdraw one's own unpaid request; its bill is cancelled."""
    await owned_request(exams, number, user)
    request = await exams.withdraw(number, actor(user), body.note)
    return await _answer(exams, request, user)


@router.post("/requests/{number}/attendance", response_model=RequestPublic, tags=["staff"])
async def record_attendance(
    number: str, body: Note, user: AttendanceTaker, exams: ExamsDep
) -> RequestPublic:
    """Record that the candidate sat the exam (a trial any day; an official one on its day)."""
    request = await exams.record_attendance(number, actor(user), body.note)
    return await _answer(exams, request, user)


@router.post("/requests/{number}/absence", response_model=RequestPublic, tags=["staff"])
async def record_absence(
    number: str, body: Note, user: AbsenceTaker, exams: ExamsDep
) -> RequestPublic:
    """Record that the candidate did not come to the official session."""
    request = await exams.record_absence(number, actor(user), body.note)
    return await _answer(exams, request, user)


@router.post("/requests/{number}/result", response_model=RequestPublic, tags=["staff"])
async def record_result(
    number: str, body: ResultRecord, user: ResultRecorder, exams: ExamsDep
) -> RequestPublic:
    """Record the reviewed result: passed (certificate ready for collection) or failed."""
    request = await exams.record_result(
        number, actor(user), outcome=body.outcome, score=body.score, note=body.note
    )
    return await _answer(exams, request, user)


@router.post("/requests/{number}/collection", response_model=RequestPublic, tags=["staff"])
async def record_collection(
    number: str, body: CollectionRecord, user: CertificateGiver, exams: ExamsDep
) -> RequestPublic:
    """Record that the certificate was handed over (to the candidate, or a named delegate)."""
    request = await exams.record_collection(number, actor(user), body.collected_by)
    return await _answer(exams, request, user)


@router.get("/sessions", response_model=Page[SessionPublic], tags=["staff"])
async def list_sessions(
    user: Coordinator,
    exams: ExamsDep,
    paging: Paging,
    status: SessionStatus | None = None,
    exam_code: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[
        bool | None, Query(description="Only sessions whose date is overdue now.")
    ] = None,
) -> Page[SessionPublic]:
    """Official exam sessions, newest first; `overdue=true` lists those past their deadline."""
    now = exams.now()
    query = SessionQuery(status=status, exam_code=exam_code, overdue_at=now if overdue else None)
    sessions, total = await exams.search_sessions(query, skip=paging.skip, limit=paging.limit)
    return paging.page_of([SessionPublic.of(session, now=now) for session in sessions], total)


@router.get("/sessions/{number}", response_model=SessionPublic, tags=["staff"])
async def get_session(number: str, user: Coordinator, exams: ExamsDep) -> SessionPublic:
    """One official exam session, with its candidates, deadline and timeline."""
    session = await exams.session(number)
    return SessionPublic.of(session, now=exams.now())


@router.post("/sessions/{number}/schedule", response_model=SessionPublic, tags=["staff"])
async def schedule_session(
    number: str, body: ScheduleRecord, user: Scheduler, exams: ExamsDep
) -> SessionPublic:
    """Set the date agreed with the granting body; every candidate gets it by SMS."""
    session = await exams.schedule_session(
        number, actor(user), exam_at=body.exam_at, venue=body.venue
    )
    return SessionPublic.of(session, now=exams.now())
