"""The HTTP API of the licensing service: the public fee schedule and licence verification, the
applicant's requests and attachments, the staff steps and lists.

Translation only: parse, authorise, call the service, shape the answer. Roles come from the
workflow table (`domain.py`).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import Applicant, LocalizedText
from contracts.phones import jordan_mobile
from services.common.auth import CurrentUser, Principal, ensure_owner, require_roles
from services.common.formatting import PendingBillPublic
from services.common.headers import HtmlPage
from services.common.idempotency import Idempotency, IdempotencyKey
from services.common.problems import Forbidden, Invalid, NotFound
from services.common.text import IsoAwareDateTime, PersonName, Phone, SafeMultiline, SafeText
from services.common.uploads import Upload, download, read_upload
from services.licensing import domain
from services.licensing.domain import (
    DOCUMENT_NAMES,
    EXTERNAL_AUTHORITY,
    STAFF_ROLES,
    STATES,
    LicenceRequest,
    RequestAction,
    RequestStatus,
)
from services.licensing.service import REQUEST_NOT_FOUND, Licensing

MAX_PAGE_SIZE = 100
REQUEST_NUMBER = r"^LC-[0-9]{4}-[0-9]{6}$"


def get_licensing(request: Request) -> Licensing:
    licensing: Licensing = request.app.state.runtime.service
    return licensing


def _roles(action: RequestAction) -> Any:
    return Depends(require_roles(*domain.roles_for(action)))


LicensingDep = Annotated[Licensing, Depends(get_licensing)]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
Clerk = Annotated[Principal, _roles(RequestAction.ACCEPT_DOCUMENTS)]
Inspector = Annotated[Principal, _roles(RequestAction.SCHEDULE_INSPECTION)]
Committee = Annotated[Principal, _roles(RequestAction.APPROVE)]
ExternalRecorder = Annotated[Principal, _roles(RequestAction.RECORD_EXTERNAL_APPROVAL)]
RequestNumber = Annotated[str, Path(pattern=REQUEST_NUMBER, description="The request number.")]
DocumentKind = Annotated[
    Literal["occupancy_permit", "lease_contract", "allocation_document"],
    Path(description="Which attachment."),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip.")]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- the public reference data -----------------------------------------------------------------


class ProfessionPublic(BaseModel):
    code: str
    name: LocalizedText
    base_fils: int = Field(description="Covers the area up to included_m2.")
    included_m2: int
    per_m2_fils: int = Field(description="For each further square metre (a part counts whole).")
    max_area_m2: int


class Quote(BaseModel):
    profession: ProfessionPublic
    area_m2: float
    fee_fils: int
    fee_jod: str


class Named(BaseModel):
    code: str
    name: LocalizedText


def _jod(fils: int) -> str:
    return f"{fils // 1000}.{fils % 1000:03d}"


# ---- requests ----------------------------------------------------------------------------------


class PersonIn(Schema):
    name: PersonName = Field(min_length=2, max_length=100, description="The applicant's full name.")
    phone: Phone
    lang: Literal["ar", "en"] = "ar"
    id_type: Literal["national", "residence"] = Field(
        description="national: a Jordanian's national number; residence: a resident's number."
    )
    id_number: str = Field(pattern=r"^[0-9A-Za-z]{6,20}$")

    @field_validator("phone")
    @classmethod
    def _jordanian_mobile(cls, value: str) -> str:
        return jordan_mobile(value)  # InvalidPhone is a ValueError: a 422 naming the field


class BusinessIn(Schema):
    establishment_name: SafeText = Field(min_length=2, max_length=150)
    establishment_number: str = Field(
        pattern=r"^[0-9]{9}$", description="The national establishment number (9 digits)."
    )


class RequestCreate(Schema):
    applicant_kind: Literal["individual", "business"]
    applicant: PersonIn = Field(description="The person applying (or acting for the business).")
    business: BusinessIn | None = Field(default=None, description="Required for a business.")
    camp: str = Field(min_length=1, max_length=40, description="A camp code from /v1/camps.")
    profession: str = Field(
        min_length=1, max_length=40, description="A profession code from /v1/professions."
    )
    area_m2: float = Field(gt=0, le=10_000, description="The licensed area in square metres.")
    trade_name: SafeText = Field(min_length=2, max_length=100)
    address: SafeText = Field(min_length=5, max_length=200, description="The address in the camp.")
    tenure: Literal["rented", "allocated"] = Field(
        description="rented: a lease contract is attached; allocated: the allocation document."
    )


class DocumentIssueIn(Schema):
    document: Literal["occupancy_permit", "lease_contract", "allocation_document"]
    issue: Literal["missing", "wrong"]
    note: SafeMultiline | None = Field(default=None, max_length=200)


class DocumentCheck(Schema):
    accepted: bool
    issues: list[DocumentIssueIn] = Field(default_factory=list, max_length=3)


class InspectionIn(Schema):
    inspection_at: IsoAwareDateTime


class InspectionResult(Schema):
    compliant: bool
    findings: SafeMultiline | None = Field(default=None, max_length=300)


class CommitteeDecision(Schema):
    decision: Literal["approved", "not_approved", "external_approvals_required"]
    reasons: SafeMultiline | None = Field(default=None, max_length=300)
    authorities: list[str] = Field(default_factory=list, max_length=6)


class ExternalAnswer(Schema):
    given: bool
    reference: str | None = Field(default=None, max_length=60)
    note: str | None = Field(default=None, max_length=300)


class DocumentPublic(BaseModel):
    kind: str
    name: LocalizedText
    is_attached: bool
    must_replace: bool
    filename: str | None
    content_type: str | None
    size: int | None
    uploaded_at: datetime | None


class ExternalApprovalPublic(BaseModel):
    authority_code: str
    authority: LocalizedText
    status: str
    reference: str | None
    note: str | None
    recorded_at: datetime | None


class LicencePublic(BaseModel):
    number: str
    issued_at: datetime
    valid_until: datetime
    verification_url: str


class SlaPublic(BaseModel):
    target_working_days: int
    target_at: datetime | None = Field(description="Moved on by working days spent waiting.")
    clock: str = Field(description="not_started, running, paused (waiting for you or another "
                       "authority) or stopped")  # fmt: skip
    is_overdue: bool
    breached_at: datetime | None


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
    version: int
    status: str
    status_label: LocalizedText
    next_step: LocalizedText
    applicant_kind: str
    applicant: Applicant
    id_type: str
    business: domain.Business | None
    camp: Named
    profession: Named
    area_m2: float
    fee_fils: int
    trade_name: str
    address: str
    tenure: str
    documents: list[DocumentPublic]
    inspection_at: datetime | None
    findings: str | None
    external_approvals: list[ExternalApprovalPublic]
    decision_reasons: str | None
    e_payment_number: str | None
    pending_bill: PendingBillPublic | None = Field(
        description="While the fee waits: its e-payment number, amount and due time, and how "
        "to pay, in Arabic and English."
    )
    licence: LicencePublic | None
    sla: SlaPublic
    timeline: list[TimelineEntry]


def request_public(
    request: LicenceRequest, licensing: Licensing, *, is_staff: bool
) -> RequestPublic:
    state = STATES[request.status]
    next_ = LocalizedText(
        ar=state.next_ar or "لا شيء: الطلب مغلق",
        en=state.next_en or "Nothing: the request is closed",
    )
    documents = []
    for kind in domain.required_documents(request.tenure):
        attached = request.document(kind)
        documents.append(
            DocumentPublic(
                kind=kind,
                name=DOCUMENT_NAMES[kind],
                is_attached=attached is not None,
                must_replace=kind in request.documents_to_replace,
                filename=attached.filename if attached else None,
                content_type=attached.content_type if attached else None,
                size=attached.size if attached else None,
                uploaded_at=attached.uploaded_at if attached else None,
            )
        )
    licence = request.licence
    return RequestPublic(
        number=request.number,
        version=request.version,
        status=request.status,
        status_label=LocalizedText(ar=state.label_ar, en=state.label_en),
        next_step=next_,
        applicant_kind=request.applicant_kind,
        applicant=request.applicant,
        id_type=request.id_type,
        business=request.business,
        camp=Named(code=request.camp_code, name=request.camp),
        profession=Named(code=request.profession_code, name=request.profession),
        area_m2=request.area_m2,
        fee_fils=request.fee_fils,
        trade_name=request.trade_name,
        address=request.address,
        tenure=request.tenure,
        documents=documents,
        inspection_at=request.inspection_at,
        findings=request.findings,
        external_approvals=[
            ExternalApprovalPublic(**a.model_dump()) for a in request.external_approvals
        ],
        decision_reasons=request.decision_reasons,
        e_payment_number=request.e_payment_number,
        pending_bill=PendingBillPublic.of(
            request.e_payment_number, request.bill_amount_fils, request.bill_due_at
        )
        if request.status is domain.RequestStatus.AWAITING_PAYMENT
        and request.e_payment_number is not None
        and request.bill_amount_fils is not None
        and request.bill_due_at is not None
        else None,
        licence=None if licence is None else LicencePublic(
            number=licence.number, issued_at=licence.issued_at, valid_until=licence.valid_until,
            verification_url=licensing.verification_url(licence.token),
        ),
        sla=SlaPublic(
            target_working_days=domain.SLA_WORKING_DAYS,
            target_at=request.sla_due_at,
            clock=state.sla,
            is_overdue=domain.is_overdue(request, licensing.now()),
            breached_at=request.sla_breached_at,
        ),
        timeline=[
            TimelineEntry(
                at=entry.at,
                action=entry.action,
                status_from=entry.source,
                status_to=entry.target,
                label=domain.label(entry.action, entry.source, entry.target),
                # A citizen sees that staff acted, not which employee.
                by=entry.by if is_staff or entry.by in (domain.SYSTEM, domain.PAYMENTS) else
                ("applicant" if entry.by == request.owner_subject else "staff"),
                reason=entry.reason,
            )
            for entry in request.history
        ],
    )  # fmt: skip


def _invalid(field: str, message: str, message_ar: str) -> Invalid:
    return Invalid(
        message, message_ar, errors=[{"field": field, "message": message, "message_ar": message_ar}]
    )


router = APIRouter(prefix="/v1")


# ---- public ------------------------------------------------------------------------------------


@router.get("/professions", response_model=list[ProfessionPublic], tags=["public"])
async def professions(licensing: LicensingDep) -> list[ProfessionPublic]:
    """The fee schedule: each profession with its base fee and rate per square metre."""
    return [ProfessionPublic(**p.model_dump()) for p in licensing.reference.fees.professions]


@router.get("/fees/quote", response_model=Quote, tags=["public"])
async def quote(
    licensing: LicensingDep,
    profession: Annotated[str, Query(min_length=1, max_length=40)],
    area_m2: Annotated[float, Query(gt=0, le=10_000)],
) -> Quote:
    """The fee for a profession and an area, as the committee's approval will bill it."""
    found = licensing.reference.fees.profession(profession)
    if found is None:
        raise _invalid("profession", "Unknown profession.", "مهنة غير معروفة.")
    if area_m2 > found.max_area_m2:
        raise _invalid(
            "area_m2",
            f"The area exceeds {found.max_area_m2} m² for this profession.",
            f"المساحة تتجاوز {found.max_area_m2} م² لهذه المهنة.",
        )
    fee = found.fee_fils(area_m2)
    return Quote(
        profession=ProfessionPublic(**found.model_dump()), area_m2=area_m2, fee_fils=fee,
        fee_jod=_jod(fee),
    )  # fmt: skip


@router.get("/camps", response_model=list[Named], tags=["public"])
async def camps(licensing: LicensingDep) -> list[Named]:
    """The camps whose shops this service licenses."""
    return [Named(code=c.code, name=c.name) for c in licensing.reference.camps.camps]


@router.get("/authorities", response_model=list[Named], tags=["public"])
async def authorities(licensing: LicensingDep) -> list[Named]:
    """The authorities whose approval the committee may require (step 6)."""
    return [Named(code=a.code, name=a.name) for a in licensing.reference.authorities.authorities]


@router.get(
    "/licences/{token}",
    tags=["public"],
    response_class=HTMLResponse,
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
)
async def verify_licence(
    token: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{20,64}$")],
    request: Request,
    licensing: LicensingDep,
    format: Annotated[Literal["html", "json"] | None, Query()] = None,
) -> Response:
    """The issued licence, by its unguessable link: a bilingual page, or JSON (`?format=json`
    or `Accept: application/json`)."""
    found = await licensing.licence(token)
    licence = found.licence
    assert licence is not None
    is_valid = licensing.now() <= licence.valid_until
    body = {
        "licence_number": licence.number,
        "request_number": found.number,
        "trade_name": found.trade_name,
        "holder": found.business.establishment_name if found.business else found.applicant.name,
        "profession": found.profession.model_dump(),
        "camp": found.camp.model_dump(),
        "address": found.address,
        "area_m2": found.area_m2,
        "issued_at": licence.issued_at.isoformat(),
        "valid_until": licence.valid_until.isoformat(),
        "is_valid": is_valid,
        "fee_fils": found.fee_fils,
        "e_payment_number": licence.e_payment_number,
    }
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    if wants_json:
        return JSONResponse(body, headers=headers)
    return HtmlPage(_licence_page(found, is_valid), headers=headers)


def _licence_page(request: LicenceRequest, is_valid: bool) -> str:
    licence = request.licence
    assert licence is not None
    e = html.escape
    holder = request.business.establishment_name if request.business else request.applicant.name
    issued = licence.issued_at.astimezone(UTC).strftime("%Y-%m-%d")
    until = licence.valid_until.strftime("%Y-%m-%d")
    status_ar, status_en = ("سارية", "Valid") if is_valid else ("منتهية", "Expired")
    rows = [
        ("رقم الرخصة", "Licence number", e(licence.number), e(licence.number)),
        ("الاسم التجاري", "Trade name", e(request.trade_name), e(request.trade_name)),
        ("صاحب الرخصة", "Holder", e(holder), e(holder)),
        ("المهنة", "Profession", e(request.profession.ar), e(request.profession.en)),
        ("المخيم", "Camp", e(request.camp.ar), e(request.camp.en)),
        ("العنوان", "Address", e(request.address), e(request.address)),
        ("المساحة", "Area", f"{request.area_m2:g} م²", f"{request.area_m2:g} m²"),
        ("تاريخ الإصدار", "Issued", issued, issued),
        ("سارية حتى", "Valid until", until, until),
        ("الحالة", "Status", status_ar, status_en),
    ]
    table = "\n".join(
        f'<tr><th lang="ar" dir="rtl">{ar}</th><td lang="ar" dir="rtl">{v_ar}</td>'
        f'<td lang="en">{v_en}</td><th lang="en">{en}</th></tr>'
        for ar, en, v_ar, v_en in rows
    )
    return f"""<!doctype html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>رخصة مهن {e(licence.number)} - Professional licence</title>
<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #ccc;padding:.4rem}}
td[lang=en],th[lang=en]{{direction:ltr;text-align:left}}</style></head>
<body><h1>أمانة عمّان الكبرى - رخصة مهن داخل المخيمات</h1>
<h2 lang="en" dir="ltr">Greater Amman Municipality - Professional licence inside the camps</h2>
<table>{table}</table>
<p>رقم الطلب / Request: {e(request.number)}</p></body></html>
"""


# ---- the applicant -----------------------------------------------------------------------------


@router.post("/requests", status_code=201, response_model=RequestPublic, tags=["requests"])
async def create_request(
    body: RequestCreate,
    user: CurrentUser,
    licensing: LicensingDep,
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Start a licence request (a draft): attach the documents, then submit it."""
    if not user.is_citizen:
        raise Forbidden(
            "Only citizens, residents and those acting for a business apply.",
            "يقدّم الطلب المواطنون والمقيمون ومن يمثل المنشأة فقط.",
        )
    reference = licensing.reference
    camp = reference.camps.camp(body.camp)
    if camp is None:
        raise _invalid("camp", "Unknown camp: choose one from /v1/camps.", "مخيم غير معروف.")
    profession = reference.fees.profession(body.profession)
    if profession is None:
        raise _invalid(
            "profession", "Unknown profession: choose one from /v1/professions.", "مهنة غير معروفة."
        )
    if body.area_m2 > profession.max_area_m2:
        raise _invalid(
            "area_m2",
            f"The area exceeds {profession.max_area_m2} m² for this profession.",
            f"المساحة تتجاوز {profession.max_area_m2} م² لهذه المهنة.",
        )
    if body.applicant_kind == "business" and body.business is None:
        raise _invalid(
            "business",
            "A business gives its establishment's details.",
            "يرجى إدخال بيانات المنشأة.",
        )
    if body.applicant_kind == "individual" and body.business is not None:
        raise _invalid(
            "business",
            "An individual gives no establishment details.",
            "لا تُدخل بيانات منشأة لطلب فردي.",
        )
    person = body.applicant
    if person.id_type == "national" and not (
        len(person.id_number) == 10 and person.id_number.isdigit()
    ):
        raise _invalid(
            "applicant.id_number", "A national number has 10 digits.", "الرقم الوطني من 10 خانات."
        )
    fields: dict[str, object] = {
        "applicant": Applicant(
            name=person.name, phone=person.phone, lang=person.lang, national_id=person.id_number
        ),
        "applicant_kind": body.applicant_kind,
        "id_type": person.id_type,
        "business": None if body.business is None else body.business.model_dump(),
        "camp_code": camp.code,
        "camp": camp.name,
        "profession_code": profession.code,
        "profession": profession.name,
        "area_m2": round(body.area_m2, 2),
        "fee_fils": profession.fee_fils(body.area_m2),
        "trade_name": body.trade_name,
        "address": body.address,
        "tenure": body.tenure,
    }

    async def create() -> tuple[int, Any]:
        request = await licensing.create(user.subject, fields)
        return 201, request_public(request, licensing, is_staff=False)

    async def stored(key_id: str) -> tuple[int, Any] | None:
        request = await licensing.store.request_created_under(key_id)
        return (
            None if request is None else (201, request_public(request, licensing, is_staff=False))
        )

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=stored
    )


@router.get("/requests", response_model=list[RequestPublic], tags=["requests"])
async def my_requests(
    user: CurrentUser, licensing: LicensingDep, limit: Limit = 20, offset: Offset = 0
) -> list[RequestPublic]:
    """The caller's own requests, newest first."""
    found = await licensing.store.requests_of_owner(user.subject, limit, offset)
    return [request_public(request, licensing, is_staff=False) for request in found]


async def _visible(number: str, user: Principal, licensing: Licensing) -> LicenceRequest:
    request = await licensing.request(number)
    ensure_owner(
        user,
        request.owner_subject,
        staff_roles=(*STAFF_ROLES, EXTERNAL_AUTHORITY),
        not_found=NotFound(*REQUEST_NOT_FOUND),
    )
    return request


async def _own(number: str, user: Principal, licensing: Licensing) -> LicenceRequest:
    """Only the applicant acts on their request (staff have their own steps)."""
    request = await licensing.request(number)
    if request.owner_subject != user.subject:
        raise NotFound(*REQUEST_NOT_FOUND)
    return request


@router.get("/requests/{number}", response_model=RequestPublic, tags=["requests"])
async def inquire(
    number: RequestNumber, user: CurrentUser, licensing: LicensingDep
) -> RequestPublic:
    """The inquiry screen: status, next step, SLA and timeline, in Arabic and English."""
    request = await _visible(number, user, licensing)
    return request_public(request, licensing, is_staff=user.has_any(*STAFF_ROLES))


@router.put("/requests/{number}/documents/{kind}", response_model=RequestPublic, tags=["requests"])
async def attach_document(
    number: RequestNumber,
    kind: DocumentKind,
    user: CurrentUser,
    licensing: LicensingDep,
    file: Upload,
) -> RequestPublic:
    """Attach (or replace) a document: in a draft, or when the document check asked for it."""
    await _own(number, user, licensing)
    data = await read_upload(file, licensing.upload_rules)
    request = await licensing.attach_document(number, kind, file.filename or kind, data)
    return request_public(request, licensing, is_staff=False)


@router.get("/requests/{number}/documents/{kind}", tags=["requests"], response_class=Response)
async def download_document(
    number: RequestNumber, kind: DocumentKind, user: CurrentUser, licensing: LicensingDep
) -> Response:
    """An attachment, with the content type found in its bytes."""
    request = await _visible(number, user, licensing)
    return download(*await licensing.document_file(request, kind))


@router.post("/requests/{number}/submit", response_model=RequestPublic, tags=["requests"])
async def submit(
    number: RequestNumber, user: CurrentUser, licensing: LicensingDep
) -> RequestPublic:
    """Submit the request with its documents (step 1), or resubmit after replacing them."""
    await _own(number, user, licensing)
    return request_public(await licensing.submit(number), licensing, is_staff=False)


@router.post("/requests/{number}/withdraw", response_model=RequestPublic, tags=["requests"])
async def withdraw(
    number: RequestNumber, user: CurrentUser, licensing: LicensingDep
) -> RequestPublic:
    """Withdraw the request (any time before the licence is issued)."""
    await _own(number, user, licensing)
    return request_public(await licensing.withdraw(number), licensing, is_staff=False)


@router.post("/requests/{number}/new-bill", response_model=RequestPublic, tags=["requests"])
async def new_bill(
    number: RequestNumber, user: CurrentUser, licensing: LicensingDep
) -> RequestPublic:
    """Ask for a new e-payment number after the last one expired unpaid."""
    await _own(number, user, licensing)
    return request_public(await licensing.request_new_bill(number), licensing, is_staff=False)


# ---- staff -------------------------------------------------------------------------------------


@router.post("/requests/{number}/document-check", response_model=RequestPublic, tags=["staff"])
async def document_check(
    number: RequestNumber, body: DocumentCheck, user: Clerk, licensing: LicensingDep
) -> RequestPublic:
    """Step 2: accept the documents, or name the missing or wrong ones (an SMS tells them)."""
    if body.accepted == bool(body.issues):
        raise _invalid(
            "issues",
            "Name the documents to replace when not accepting, and none when accepting.",
            "يرجى ذكر الوثائق المطلوب استبدالها عند عدم القبول فقط.",
        )
    issues = [(i.document, i.issue, i.note) for i in body.issues]
    request = await licensing.check_documents(number, issues, user.subject)
    return request_public(request, licensing, is_staff=True)


@router.post("/requests/{number}/inspection", response_model=RequestPublic, tags=["staff"])
async def schedule_inspection(
    number: RequestNumber, body: InspectionIn, user: Inspector, licensing: LicensingDep
) -> RequestPublic:
    """Step 3: set the inspection (or re-inspection) appointment; an SMS tells the applicant."""
    at = body.inspection_at.astimezone(UTC).replace(second=0, microsecond=0)
    request = await licensing.schedule_inspection(number, at, user.subject)
    return request_public(request, licensing, is_staff=True)


@router.post("/requests/{number}/inspection-result", response_model=RequestPublic, tags=["staff"])
async def inspection_result(
    number: RequestNumber, body: InspectionResult, user: Inspector, licensing: LicensingDep
) -> RequestPublic:
    """Record the inspection: compliant (to the committee) or not (step 4: rectify)."""
    request = await licensing.record_inspection(number, body.compliant, body.findings, user.subject)
    return request_public(request, licensing, is_staff=True)


@router.post("/requests/{number}/committee-decision", response_model=RequestPublic, tags=["staff"])
async def committee_decision(
    number: RequestNumber, body: CommitteeDecision, user: Committee, licensing: LicensingDep
) -> RequestPublic:
    """Step 5: approve (the bill follows), not approve (with reasons), or require the approval
    of other authorities first (step 6)."""
    request = await licensing.decide(
        number, body.decision, body.reasons, body.authorities, user.subject
    )
    return request_public(request, licensing, is_staff=True)


@router.post(
    "/requests/{number}/external-approvals/{authority}",
    response_model=RequestPublic,
    tags=["staff"],
)
async def external_approval(
    number: RequestNumber,
    authority: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")],
    body: ExternalAnswer,
    user: ExternalRecorder,
    licensing: LicensingDep,
) -> RequestPublic:
    """Record another authority's answer: by staff, or by that authority's own system (role
    `licensing.external_authority`, subject `authority:<code>`: it answers only for itself)."""
    if not user.has_any(*STAFF_ROLES) and user.subject != f"authority:{authority}":
        raise Forbidden(
            "An authority's system records only its own approvals.",
            "تسجل الجهة الخارجية موافقاتها فقط.",
        )
    request = await licensing.record_external(
        number, authority, body.given, body.reference, body.note, user.subject
    )
    return request_public(request, licensing, is_staff=user.has_any(*STAFF_ROLES))


@router.get("/staff/requests", response_model=list[RequestPublic], tags=["staff"])
async def staff_requests(
    user: Staff,
    licensing: LicensingDep,
    status: Annotated[RequestStatus | None, Query(description="Only this status.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[RequestPublic]:
    """Staff work lists: the requests in one status (default: every open one), oldest first."""
    statuses = [status] if status else list(domain.OPEN)
    found = await licensing.store.requests_in(statuses, limit, offset)
    return [request_public(request, licensing, is_staff=True) for request in found]


@router.get("/staff/overdue", response_model=list[RequestPublic], tags=["staff"])
async def overdue(
    user: Staff, licensing: LicensingDep, limit: Limit = 50, offset: Offset = 0
) -> list[RequestPublic]:
    """Open requests past their 3-working-day target (SLA breaches), oldest first."""
    found = await licensing.overdue(limit, offset)
    return [request_public(request, licensing, is_staff=True) for request in found]
