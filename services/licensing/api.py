"""The HTTP API of the licensing service: the public fee schedule and licence verification, the
applicant's requests and attachments, the staff steps and lists.

Translation only: parse, authorise, call the service, shape the answer (`views.py`). Roles come
from the workflow table (`domain/workflow.py`); the rules, input rules included, are the domain's:
its refusals become problems naming every field at fault. Every list answers a `Page`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import LocalizedText
from contracts.phones import jordan_mobile
from services.common.auth import CurrentUser, Principal, ensure_owner, require_roles
from services.common.formatting import format_jod
from services.common.headers import HtmlPage
from services.common.idempotency_http import Idempotency, IdempotencyKey
from services.common.listing import Page, Paging
from services.common.problems import Forbidden, NotFound
from services.common.text import IsoAwareDateTime, PersonName, Phone, SafeMultiline, SafeText
from services.common.uploads import Upload, download, read_upload
from services.licensing import domain
from services.licensing.domain import (
    EXTERNAL_AUTHORITY,
    STAFF_ROLES,
    Actor,
    Application,
    Establishment,
    LicenceRequest,
    RequestAction,
    RequestStatus,
)
from services.licensing.service import REQUEST_NOT_FOUND, Licensing
from services.licensing.views import Named, RequestPublic, licence_json, licence_page
from services.licensing.views import request_public as view

REQUEST_NUMBER = r"^LC-[0-9]{4}-[0-9]{6}$"


async def get_licensing(request: Request) -> Licensing:
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


def actor(user: Principal) -> Actor:
    return Actor(user.subject, user.roles)


def request_public(
    request: LicenceRequest, licensing: Licensing, *, is_staff: bool
) -> RequestPublic:
    return view(
        request,
        is_staff=is_staff,
        now=licensing.now(),
        verification_url=licensing.verification_url,
        document_url=licensing.document_verification_url,
    )


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


router = APIRouter(prefix="/v1")


# ---- public ------------------------------------------------------------------------------------


@router.get("/professions", response_model=Page[ProfessionPublic], tags=["public"])
async def professions(licensing: LicensingDep, paging: Paging) -> Page[ProfessionPublic]:
    """The fee schedule: each profession with its base fee and rate per square metre."""
    found = licensing.reference.fees.professions
    items = found[paging.skip : paging.skip + paging.limit]
    return paging.page_of([ProfessionPublic(**p.model_dump()) for p in items], len(found))


@router.get("/fees/quote", response_model=Quote, tags=["public"])
async def quote(
    licensing: LicensingDep,
    profession: Annotated[str, Query(min_length=1, max_length=40)],
    area_m2: Annotated[float, Query(gt=0, le=10_000)],
) -> Quote:
    """The fee for a profession and an area, as the committee's approval will bill it."""
    found, fee = licensing.quote(profession, area_m2)
    return Quote(
        profession=ProfessionPublic(**found.model_dump()), area_m2=area_m2, fee_fils=fee,
        fee_jod=format_jod(fee),
    )  # fmt: skip


@router.get("/camps", response_model=Page[Named], tags=["public"])
async def camps(licensing: LicensingDep, paging: Paging) -> Page[Named]:
    """The camps whose shops this service licenses."""
    found = licensing.reference.camps.camps
    items = found[paging.skip : paging.skip + paging.limit]
    return paging.page_of([Named(code=c.code, name=c.name) for c in items], len(found))


@router.get("/authorities", response_model=Page[Named], tags=["public"])
async def authorities(licensing: LicensingDep, paging: Paging) -> Page[Named]:
    """The authorities whose approval the committee may require (step 6)."""
    found = licensing.reference.authorities.authorities
    items = found[paging.skip : paging.skip + paging.limit]
    return paging.page_of([Named(code=a.code, name=a.name) for a in items], len(found))


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
    or `Accept: application/json`); both give the address of its PDF's verification page."""
    found = await licensing.licence(token)
    assert found.licence is not None
    is_valid = licensing.now() <= found.licence.valid_until
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    document_url = licensing.document_verification_url
    if wants_json:
        return JSONResponse(licence_json(found, is_valid, document_url), headers=headers)
    return HtmlPage(licence_page(found, is_valid, document_url), headers=headers)


# ---- the applicant -----------------------------------------------------------------------------


def application(body: RequestCreate) -> Application:
    person, business = body.applicant, body.business
    return Application(
        applicant_kind=body.applicant_kind,
        name=person.name,
        phone=person.phone,
        lang=person.lang,
        id_type=person.id_type,
        id_number=person.id_number,
        business=None
        if business is None
        else Establishment(business.establishment_name, business.establishment_number),
        camp=body.camp,
        profession=body.profession,
        area_m2=body.area_m2,
        trade_name=body.trade_name,
        address=body.address,
        tenure=body.tenure,
    )


@router.post("/requests", status_code=201, response_model=RequestPublic, tags=["requests"])
async def create_request(
    body: RequestCreate,
    user: CurrentUser,
    licensing: LicensingDep,
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Start a licence request (a draft): attach the documents, then submit it. Every field the
    rules refuse is named in one 422."""
    if not user.is_citizen:
        raise Forbidden(
            "Only citizens, residents and those acting for a business apply.",
            "يقدّم الطلب المواطنون والمقيمون ومن يمثل المنشأة فقط.",
        )

    async def create() -> tuple[int, Any]:
        request = await licensing.create(actor(user), application(body))
        return 201, request_public(request, licensing, is_staff=False)

    async def stored(key_id: str) -> tuple[int, Any] | None:
        request = await licensing.request_created_under(key_id)
        return (
            None if request is None else (201, request_public(request, licensing, is_staff=False))
        )

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=stored
    )


@router.get("/requests", response_model=Page[RequestPublic], tags=["requests"])
async def my_requests(
    user: CurrentUser, licensing: LicensingDep, paging: Paging
) -> Page[RequestPublic]:
    """The caller's own requests, newest first."""
    found, total = await licensing.requests_of(user.subject, skip=paging.skip, limit=paging.limit)
    return paging.page_of(
        [request_public(request, licensing, is_staff=False) for request in found], total
    )


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
    request = await licensing.attach_document(
        number, kind, file.filename or kind, data, actor(user)
    )
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
    return request_public(await licensing.submit(number, actor(user)), licensing, is_staff=False)


@router.post("/requests/{number}/withdraw", response_model=RequestPublic, tags=["requests"])
async def withdraw(
    number: RequestNumber, user: CurrentUser, licensing: LicensingDep
) -> RequestPublic:
    """Withdraw the request (any time before the licence is issued)."""
    await _own(number, user, licensing)
    return request_public(await licensing.withdraw(number, actor(user)), licensing, is_staff=False)


@router.post("/requests/{number}/new-bill", response_model=RequestPublic, tags=["requests"])
async def new_bill(
    number: RequestNumber, user: CurrentUser, licensing: LicensingDep
) -> RequestPublic:
    """Ask for a new e-payment number after the last one expired unpaid."""
    await _own(number, user, licensing)
    request = await licensing.request_new_bill(number, actor(user))
    return request_public(request, licensing, is_staff=False)


# ---- staff -------------------------------------------------------------------------------------


@router.post("/requests/{number}/document-check", response_model=RequestPublic, tags=["staff"])
async def document_check(
    number: RequestNumber, body: DocumentCheck, user: Clerk, licensing: LicensingDep
) -> RequestPublic:
    """Step 2: accept the documents, or name the missing or wrong ones (an SMS tells them)."""
    issues = [(i.document, i.issue, i.note) for i in body.issues]
    request = await licensing.check_documents(number, body.accepted, issues, actor(user))
    return request_public(request, licensing, is_staff=True)


@router.post("/requests/{number}/inspection", response_model=RequestPublic, tags=["staff"])
async def schedule_inspection(
    number: RequestNumber, body: InspectionIn, user: Inspector, licensing: LicensingDep
) -> RequestPublic:
    """Step 3: set the inspection (or re-inspection) appointment; an SMS tells the applicant."""
    at = body.inspection_at.astimezone(UTC).replace(second=0, microsecond=0)
    request = await licensing.schedule_inspection(number, at, actor(user))
    return request_public(request, licensing, is_staff=True)


@router.post("/requests/{number}/inspection-result", response_model=RequestPublic, tags=["staff"])
async def inspection_result(
    number: RequestNumber, body: InspectionResult, user: Inspector, licensing: LicensingDep
) -> RequestPublic:
    """Record the inspection: compliant (to the committee) or not (step 4: rectify)."""
    request = await licensing.record_inspection(number, body.compliant, body.findings, actor(user))
    return request_public(request, licensing, is_staff=True)


@router.post("/requests/{number}/committee-decision", response_model=RequestPublic, tags=["staff"])
async def committee_decision(
    number: RequestNumber, body: CommitteeDecision, user: Committee, licensing: LicensingDep
) -> RequestPublic:
    """Step 5: approve (the bill follows), not approve (with reasons), or require the approval
    of other authorities first (step 6)."""
    request = await licensing.decide(
        number, body.decision, body.reasons, body.authorities, actor(user)
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
        number, authority, body.given, body.reference, body.note, actor(user)
    )
    return request_public(request, licensing, is_staff=user.has_any(*STAFF_ROLES))


@router.get("/staff/requests", response_model=Page[RequestPublic], tags=["staff"])
async def staff_requests(
    user: Staff,
    licensing: LicensingDep,
    paging: Paging,
    status: Annotated[RequestStatus | None, Query(description="Only this status.")] = None,
) -> Page[RequestPublic]:
    """Staff work lists: the requests in one status (default: every open one), oldest first."""
    found, total = await licensing.requests_in(status, skip=paging.skip, limit=paging.limit)
    return paging.page_of(
        [request_public(request, licensing, is_staff=True) for request in found], total
    )


@router.get("/staff/overdue", response_model=Page[RequestPublic], tags=["staff"])
async def overdue(user: Staff, licensing: LicensingDep, paging: Paging) -> Page[RequestPublic]:
    """Open requests past their 3-working-day target (SLA breaches), oldest first."""
    found, total = await licensing.overdue(skip=paging.skip, limit=paging.limit)
    return paging.page_of(
        [request_public(request, licensing, is_staff=True) for request in found], total
    )
