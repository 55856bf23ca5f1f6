"""The HTTP API of the training service: the catalogue, requests, staff actions, the letters
(PDFs, issued by the shared documents: `/v1/documents`, `/v1/verify`).

Translation only: parse, authorise (the roles come from the workflow table), call the use case,
shape the answer. A request is submitted as `multipart/form-data`: its fields and the attachment.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import Applicant, LocalizedText
from contracts.phones import jordan_mobile
from contracts.training import GisCourse
from services.common.auth import CurrentUser, Principal, ensure_owner, require_roles
from services.common.formatting import PendingBillPublic
from services.common.formatting import TimelineLinePublic as TimelineEntry
from services.common.idempotency_http import Idempotency, IdempotencyKey
from services.common.listing import Page, Paging
from services.common.problems import Forbidden, NotFound
from services.common.text import IsoDate, PersonName, Phone, SafeMultiline, SafeText
from services.common.uploads import Upload, download, read_upload
from services.common.workflow import Actor
from services.training import domain, views
from services.training.domain import (
    STAFF_ROLES,
    Action,
    ApplicantType,
    ApplicationForm,
    CertificateType,
    InstitutionType,
    Kind,
    Status,
    TrainingRequest,
)
from services.training.service import REQUEST_NOT_FOUND, Training

REQUEST_NUMBER = r"^TR-[0-9]{4}-[0-9]{6}$"


async def get_training(request: Request) -> Training:
    training: Training = request.app.state.runtime.service
    return training


TrainingDep = Annotated[Training, Depends(get_training)]
Reviewer = Annotated[Principal, Depends(require_roles(*domain.roles_for(Action.APPROVE)))]
Supervisor = Annotated[
    Principal, Depends(require_roles(*domain.roles_for(Action.RECORD_ATTENDANCE)))
]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
RequestNumber = Annotated[str, Path(pattern=REQUEST_NUMBER, description="The request number.")]


def actor(user: Principal) -> Actor:
    """The caller as the workflow sees them: their subject and roles, from the token."""
    return Actor(user.subject, user.roles)


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text(Schema):
    ar: SafeText = Field(min_length=2, max_length=300)
    en: SafeText = Field(min_length=2, max_length=300)

    def localized(self) -> LocalizedText:
        return LocalizedText(ar=self.ar.strip(), en=self.en.strip())


# ---- the catalogue ---------------------------------------------------------------------------


class DepartmentPublic(BaseModel):
    code: str
    name: LocalizedText
    paid_courses_for_individuals: bool


class CataloguePublic(BaseModel):
    kinds: dict[str, LocalizedText]
    departments: list[DepartmentPublic]
    gis_courses: list[GisCourse]
    fee_rule: LocalizedText


KIND_LABELS = {
    Kind.TRAINING: LocalizedText(ar="تدريب", en="Training"),
    Kind.MISSION: LocalizedText(ar="تسهيل مهمة", en="Mission facilitation"),
}


# ---- submission ------------------------------------------------------------------------------


class RequestForm(BaseModel):
    """The fields of the submission form (the attachment is its `attachment` part)."""

    kind: Kind
    applicant_type: ApplicantType = Field(
        description="nominated: a student or delegate nominated by an institution (attaches its "
        "signed and stamped letter); individual: attaches a copy of their certificate."
    )
    department_code: str = Field(min_length=1, max_length=60)
    start_date: IsoDate
    end_date: IsoDate
    institution_type: InstitutionType | None = None
    institution_name: SafeText | None = Field(default=None, min_length=2, max_length=150)
    certificate_type: CertificateType | None = None
    course_code: str | None = Field(default=None, min_length=1, max_length=60)
    study_subject: SafeText | None = Field(default=None, min_length=3, max_length=300)
    name: PersonName = Field(min_length=2, max_length=100)
    phone: Phone
    lang: Literal["ar", "en"] = "ar"
    national_id: str | None = Field(
        default=None, pattern=r"^[0-9]{10}$", description="National or personal number."
    )

    @field_validator("phone")
    @classmethod
    def _jordanian_mobile(cls, value: str) -> str:
        return jordan_mobile(value)

    def form(self) -> ApplicationForm:
        return ApplicationForm(
            kind=self.kind,
            applicant_type=self.applicant_type,
            department_code=self.department_code,
            start_date=self.start_date,
            end_date=self.end_date,
            institution_type=self.institution_type,
            institution_name=self.institution_name,
            certificate_type=self.certificate_type,
            course_code=self.course_code,
            study_subject=self.study_subject,
        )


class AttachmentPublic(BaseModel):
    kind: str
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime


class RequestPublic(BaseModel):
    number: str
    kind: str
    kind_label: LocalizedText
    applicant_type: str
    department_code: str
    department: LocalizedText
    course: GisCourse | None
    study_subject: str | None
    start_date: date
    end_date: date
    original_start_date: date | None
    fee_fils: int
    status: str
    status_label: LocalizedText
    next_step: LocalizedText | None
    deadline: datetime | None
    is_overdue: bool
    applicant: Applicant
    attachment: AttachmentPublic
    attachment_note: LocalizedText | None
    rejection_reasons: LocalizedText | None
    cancel_reason: LocalizedText | None
    e_payment_number: str | None
    pending_bill: PendingBillPublic | None = Field(
        description="While the fee waits: its e-payment number, amount and due time, and how "
        "to pay, in Arabic and English."
    )
    withheld_fils: int
    refund_fils: int
    refund_status: str | None
    can_postpone: bool
    latest_start_date: date | None
    approval_letter: str | None = Field(
        description="The approval letter's PDF (its current version), while the approval stands."
    )
    completion_letter: str | None = Field(
        description="The completion letter's PDF, once a training's period is over."
    )
    timeline: list[TimelineEntry]


def request_public(
    request: TrainingRequest, training: Training, *, is_staff: bool
) -> RequestPublic:
    now = training.clock.now()
    found = views.inquiry(request, now, training.calendar)
    app = request.application
    base = f"/v1/requests/{request.number}"
    return RequestPublic(
        number=request.number,
        kind=app.kind,
        kind_label=KIND_LABELS[app.kind],
        applicant_type=app.applicant_type,
        department_code=app.department_code,
        department=app.department,
        course=app.course,
        study_subject=app.study_subject,
        start_date=app.start_date,
        end_date=app.end_date,
        original_start_date=request.original_start_date,
        fee_fils=app.fee_fils,
        status=request.status,
        status_label=found.label,
        next_step=found.next_step,
        deadline=found.deadline,
        is_overdue=found.is_overdue,
        applicant=request.applicant,
        attachment=AttachmentPublic(**request.attachment.model_dump()),
        attachment_note=request.attachment_note,
        rejection_reasons=request.rejection_reasons,
        cancel_reason=request.cancel_reason,
        e_payment_number=request.e_payment_number,
        pending_bill=PendingBillPublic.of(
            request.e_payment_number, app.fee_fils, request.payment_due_at
        )
        if request.status is Status.AWAITING_PAYMENT
        and request.e_payment_number
        and request.payment_due_at
        else None,
        withheld_fils=request.withheld_fils,
        refund_fils=request.refund_fils,
        refund_status=request.refund_status,
        can_postpone=request.status is Status.POSTPONEMENT_OFFERED,
        latest_start_date=request.latest_start_date,
        approval_letter=f"{base}/approval-letter" if views.approval_letter_id(request) else None,
        completion_letter=f"{base}/completion-letter"
        if views.completion_letter_id(request) else None,
        timeline=[
            TimelineEntry(
                at=entry.at,
                action=entry.action,
                status_from=entry.source,
                status_to=entry.target,
                label=views.entry_label(entry),
                # A citizen sees that staff acted, not which employee (the system: by name).
                by=entry.by if is_staff or entry.role == domain.SYSTEM else
                ("applicant" if entry.by == request.owner_subject else "staff"),
                reason=entry.why,
            )
            for entry in request.history
        ],
    )  # fmt: skip


class Note(Schema):
    note: Text = Field(description="What is wrong with the attachment (Arabic and English).")


class Approval(Schema):
    note: SafeMultiline | None = Field(default=None, max_length=300)


class Rejection(Schema):
    reasons: Text


class Attendance(Schema):
    attended: bool = Field(description="true: attended; false: a no-show.")
    note: SafeMultiline | None = Field(default=None, max_length=300)


class Postponement(Schema):
    start_date: IsoDate = Field(
        description="The new start date, within one month of the missed one."
    )


class StaffPage(Page[RequestPublic]):
    """A page of the staff list, with the counts of requests under review (within their SLA,
    overdue)."""

    counts: dict[str, int]


router = APIRouter(prefix="/v1")


@router.get("/catalogue", response_model=CataloguePublic, tags=["catalogue"])
async def catalogue(training: TrainingDep) -> CataloguePublic:
    """Public: the departments, and the GIS courses with their hours and fees."""
    cat = training.catalogue
    return CataloguePublic(
        kinds={kind.value: label for kind, label in KIND_LABELS.items()},
        departments=[DepartmentPublic(**d.model_dump()) for d in cat.departments],
        gis_courses=list(cat.gis_courses),
        fee_rule=LocalizedText(
            ar="التدريب مجاني للطلاب المنسَّبين من مؤسسات ولتسهيل المهمة؛ يدفع الأفراد المتدربون "
            "في دائرة نظم المعلومات الجغرافية رسوم الدورة المختارة؛ لا رسوم في الدوائر الأخرى.",
            en="Free for students nominated by an institution and for missions; individuals "
            "training in the GIS department pay the chosen course's fee; other departments: "
            "no fee.",
        ),
    )


@router.post("/requests", status_code=201, response_model=RequestPublic, tags=["requests"])
async def submit_request(
    body: Annotated[RequestForm, Form()],
    attachment: Upload,
    user: CurrentUser,
    training: TrainingDep,
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Submit a request with its attachment: the institution's signed and stamped letter
    (nominated) or a copy of the certificate (individual). SMS: initially accepted."""
    if not user.is_citizen:
        raise Forbidden(
            "Only applicants (citizens, government bodies) submit requests.",
            "يقدّم الطلبَ المتقدمون فقط (مواطنون أو جهات حكومية).",
        )
    training.check(body.form())  # every field rule before the file is read
    data = await read_upload(attachment, training.upload_rules)
    applicant = Applicant(
        name=body.name.strip(), phone=body.phone, lang=body.lang, national_id=body.national_id
    )

    async def create() -> tuple[int, Any]:
        request = await training.submit(
            actor(user), applicant, body.form(), attachment.filename or "attachment", data
        )
        return 201, request_public(request, training, is_staff=False)

    async def stored(key_id: str) -> tuple[int, Any] | None:
        request = await training.created_under(key_id)
        return None if request is None else (201, request_public(request, training, is_staff=False))

    payload = {**body.model_dump(mode="json"), "attachment_size": len(data)}
    return await idempotency.run(
        scope=user.subject, key=key, payload=payload, create=create, stored=stored
    )


@router.get("/requests", response_model=Page[RequestPublic], tags=["requests"])
async def my_requests(
    user: CurrentUser, training: TrainingDep, paging: Paging
) -> Page[RequestPublic]:
    """The caller's own requests, newest first, a page at a time."""
    found, total = await training.requests_of(user.subject, skip=paging.skip, limit=paging.limit)
    return paging.page_of([request_public(r, training, is_staff=False) for r in found], total)


async def _owned(number: str, user: Principal, training: Training) -> TrainingRequest:
    request = await training.request(number)
    ensure_owner(
        user, request.owner_subject, staff_roles=STAFF_ROLES, not_found=NotFound(*REQUEST_NOT_FOUND)
    )
    return request


async def _own(number: str, user: Principal, training: Training) -> TrainingRequest:
    """The applicant's own request (staff act through their own routes)."""
    request = await training.request(number)
    if user.subject != request.owner_subject:
        raise NotFound(*REQUEST_NOT_FOUND)
    return request


@router.get("/requests/{number}", response_model=RequestPublic, tags=["requests"])
async def inquire(number: RequestNumber, user: CurrentUser, training: TrainingDep) -> RequestPublic:
    """The inquiry screen: status, next step, deadline, letters and timeline (ar and en)."""
    request = await _owned(number, user, training)
    return request_public(request, training, is_staff=user.has_any(*STAFF_ROLES))


@router.get("/requests/{number}/attachment", tags=["requests"], response_class=Response)
async def download_attachment(
    number: RequestNumber, user: CurrentUser, training: TrainingDep
) -> Response:
    """The attached letter or certificate, with the content type found in its bytes."""
    request = await _owned(number, user, training)
    return download(*await training.attachment_file(request))


@router.put("/requests/{number}/attachment", response_model=RequestPublic, tags=["requests"])
async def correct_attachment(
    number: RequestNumber, attachment: Upload, user: CurrentUser, training: TrainingDep
) -> RequestPublic:
    """Upload the corrected attachment (within the 3 working days): back to review."""
    await _own(number, user, training)
    data = await read_upload(attachment, training.upload_rules)
    request = await training.correct_attachments(
        number, actor(user), attachment.filename or "attachment", data
    )
    return request_public(request, training, is_staff=False)


@router.post("/requests/{number}/postpone", response_model=RequestPublic, tags=["requests"])
async def postpone(
    number: RequestNumber, body: Postponement, user: CurrentUser, training: TrainingDep
) -> RequestPublic:
    """After a no-show at paid GIS training: choose the new start date (once, one month)."""
    await _own(number, user, training)
    request = await training.postpone(number, body.start_date, actor(user))
    return request_public(request, training, is_staff=False)


_PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
_NO_APPROVAL_LETTER = ("There is no approval letter for this request.",
                       "لا يوجد كتاب موافقة لهذا الطلب.")  # fmt: skip
_NO_COMPLETION_LETTER = ("There is no completion letter for this request.",
                         "لا يوجد كتاب انتهاء تدريب لهذا الطلب.")  # fmt: skip


def _pdf(filename: str, data: bytes) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/requests/{number}/approval-letter", response_class=Response, responses=_PDF,
            tags=["letters"])  # fmt: skip
async def approval_letter(
    number: RequestNumber, user: CurrentUser, training: TrainingDep
) -> Response:
    """The approval letter, a PDF (its current version: a postponement issues a new one): the
    owner or staff. 409 in the seconds between the approval and its issue."""
    request = await _owned(number, user, training)
    found = views.approval_letter_id(request)
    return _pdf(*await training.letter_pdf(found, _NO_APPROVAL_LETTER))


@router.get("/requests/{number}/completion-letter", response_class=Response, responses=_PDF,
            tags=["letters"])  # fmt: skip
async def completion_letter(
    number: RequestNumber, user: CurrentUser, training: TrainingDep
) -> Response:
    """The training completion letter, a PDF: the owner or staff."""
    request = await _owned(number, user, training)
    found = views.completion_letter_id(request)
    return _pdf(*await training.letter_pdf(found, _NO_COMPLETION_LETTER))


# ---- staff -----------------------------------------------------------------------------------


@router.get("/staff/requests", response_model=StaffPage, tags=["staff"])
async def staff_requests(
    user: Staff,
    training: TrainingDep,
    paging: Paging,
    status: Annotated[Status | None, Query(description="Only this status.")] = None,
    overdue: Annotated[
        bool, Query(description="Only requests under review past their SLA (5 working days).")
    ] = False,
) -> StaffPage:
    """Staff lists: by status, or the overdue reviews (oldest first), a page at a time, with
    the counts of requests under review."""
    found, total = await training.staff_list(status, overdue, skip=paging.skip, limit=paging.limit)
    return StaffPage(
        items=[request_public(r, training, is_staff=True) for r in found],
        page=paging.page,
        page_size=paging.page_size,
        total=total,
        counts=await training.review_counts(),
    )


@router.post("/requests/{number}/attachment-error", response_model=RequestPublic, tags=["staff"])
async def attachment_error(
    number: RequestNumber, body: Note, user: Reviewer, training: TrainingDep
) -> RequestPublic:
    """The attachment is wrong: the applicant has 3 working days to correct it (SMS)."""
    request = await training.flag_attachments(number, body.note.localized(), actor(user))
    return request_public(request, training, is_staff=True)


@router.post("/requests/{number}/approve", response_model=RequestPublic, tags=["staff"])
async def approve(
    number: RequestNumber, body: Approval, user: Reviewer, training: TrainingDep
) -> RequestPublic:
    """Approve: free → the approval letter (SMS); an individual's GIS course → the fee."""
    request = await training.approve(number, body.note, actor(user))
    return request_public(request, training, is_staff=True)


@router.post("/requests/{number}/reject", response_model=RequestPublic, tags=["staff"])
async def reject(
    number: RequestNumber, body: Rejection, user: Reviewer, training: TrainingDep
) -> RequestPublic:
    """Reject, with the reasons in Arabic and English (SMS)."""
    request = await training.reject(number, body.reasons.localized(), actor(user))
    return request_public(request, training, is_staff=True)


@router.post("/requests/{number}/attendance", response_model=RequestPublic, tags=["staff"])
async def attendance(
    number: RequestNumber, body: Attendance, user: Supervisor, training: TrainingDep
) -> RequestPublic:
    """Record attendance or a no-show, from the start date (training only)."""
    request = await training.record_attendance(number, body.attended, body.note, actor(user))
    return request_public(request, training, is_staff=True)
