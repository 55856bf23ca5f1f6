"""The HTTP API: the citizen's lookup, code and renewal; reviewers' decisions; the registry import.

Routes only translate: authorise (roles from the workflow table), call the use case, shape the
answer. Domain refusals are left to escape: the shared problem handlers answer each with its
problem response (`services.common.problems.problem_of`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts import Language, LocalizedText
from contracts.contractors import PermitRef
from contracts.phones import mask_phone
from services.common.auth import Principal, ensure_owner, require_roles
from services.common.formatting import PendingBillPublic
from services.common.idempotency_http import Idempotency, IdempotencyKey
from services.common.listing import Page, Paging
from services.common.problems import Invalid, NotFound
from services.common.text import Phone, SafeLocalizedText, SafeMultiline, SafeText
from services.contractors import domain, registry, views
from services.contractors.domain import (
    CITIZEN,
    REGISTRAR,
    REVIEWER,
    Action,
    Actor,
    RenewalRequest,
    Status,
)
from services.contractors.service import Contractors, RenewalForm
from services.contractors.store import RequestQuery

MAX_IMPORT_BYTES = 10 * 1024 * 1024


async def get_service(request: Request) -> Contractors:
    service: Contractors = request.app.state.runtime.service
    return service


Service = Annotated[Contractors, Depends(get_service)]
Citizen = Annotated[Principal, Depends(require_roles(*domain.roles_for(Action.SUBMIT)))]
Reader = Annotated[Principal, Depends(require_roles(CITIZEN, REVIEWER))]
Reviewer = Annotated[Principal, Depends(require_roles(*domain.roles_for(Action.APPROVE)))]
Rejecter = Annotated[Principal, Depends(require_roles(*domain.roles_for(Action.REJECT)))]
Registrar = Annotated[Principal, Depends(require_roles(REGISTRAR))]
RegistryReader = Annotated[Principal, Depends(require_roles(REGISTRAR, REVIEWER))]


def actor(user: Principal) -> Actor:
    return Actor(user.subject, user.roles)


def is_staff(user: Principal) -> bool:
    return user.has_role(REVIEWER)


async def owned_request(service: Contractors, number: str, user: Principal) -> RenewalRequest:
    """The request, if the caller owns it or reviews; 404 otherwise (never 403)."""
    missing = NotFound(f"no renewal request {number}", f"لا يوجد طلب تجديد بالرقم {number}")
    request = await service.store.request(number)
    if request is None:
        raise missing
    ensure_owner(user, request.owner_subject, staff_roles=(REVIEWER,), not_found=missing)
    return request


# ---- schemas: in ---------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PermitLookup(_Body):
    """Seed 001, step 1."""

    contractor_number: str = Field(
        min_length=1, max_length=40, description="The contractor number.", examples=["C-10234"]
    )
    permit_number: str = Field(
        min_length=1, max_length=40, description="The permit number.", examples=["P-2026-0112"]
    )
    permit_year: int = Field(
        ge=domain.MIN_YEAR, le=domain.MAX_YEAR, description="The permit year.", examples=[2026]
    )

    def key(self) -> domain.PermitKey:
        return domain.check_key(self.contractor_number, self.permit_number, self.permit_year)


class CodeRequest(PermitLookup):
    """Step 2: send a one-time code to this phone."""

    phone: Phone
    lang: Language = Field(default="ar", description="Language of the SMS: ar or en.")


class RenewalCreate(CodeRequest):
    """Step 2: the renewal, with the reason, the phone and the code received on it."""

    reason: SafeText = Field(
        min_length=1, max_length=500, description="The renewal reason.", examples=["انتهاء المدة"]
    )
    verification_id: str = Field(
        min_length=1, max_length=64, description="From POST /v1/verifications."
    )
    code: str = Field(
        pattern=r"^[0-9٠-٩]{4,10}$", description="The code received by SMS.", examples=["482913"]
    )

    def form(self) -> RenewalForm:
        return RenewalForm(
            contractor_number=self.contractor_number,
            permit_number=self.permit_number,
            permit_year=self.permit_year,
            reason=self.reason,
            phone=self.phone,
            verification_id=self.verification_id,
            code=self.code.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")),
            lang=self.lang,
        )


class Approval(_Body):
    note: SafeMultiline | None = Field(
        default=None, max_length=500, description="Staff note (optional)."
    )


class Rejection(_Body):
    reason: SafeLocalizedText = Field(
        description="Why, in Arabic and English: sent to the applicant."
    )


# ---- schemas: out --------------------------------------------------------------------------


class LookupAnswer(BaseModel):
    contractor_name: LocalizedText = Field(description="The contractor's name, and nothing else.")


class CodeSentAnswer(BaseModel):
    verification_id: str
    phone_masked: str
    expires_at: datetime
    resend_after: datetime
    attempts_allowed: int


class TimelineEntryPublic(BaseModel):
    at: datetime
    action: str
    label: LocalizedText
    source: str | None
    target: str
    target_label: LocalizedText
    role: str
    by: str | None = Field(description="Who did it; shown to staff only.")
    why: str | None


class FeePublic(BaseModel):
    amount_fils: int
    currency: str = "JOD"
    payment_reference: str
    due_at: datetime
    e_payment_number: str | None
    paid_at: datetime | None


class RequestPublic(BaseModel):
    """The request-inquiry screen: status, next step and timeline, in Arabic and English."""

    request_number: str
    status: Status
    status_label: LocalizedText
    next_step: LocalizedText | None
    permit: PermitRef
    reason: str
    phone: str = Field(description="The verified phone the SMS go to.")
    lang: Language
    fee_fils: int | None
    fee: FeePublic | None
    pending_bill: PendingBillPublic | None = Field(
        description="While the fee waits: its e-payment number, amount and due time, and how "
        "to pay, in Arabic and English."
    )
    rejection_reason: LocalizedText | None
    valid_to_before: date
    valid_from: date | None
    valid_to: date | None
    submitted_at: datetime
    completed_at: datetime | None
    version: int
    timeline: list[TimelineEntryPublic]

    @classmethod
    def of(cls, request: RenewalRequest, *, for_staff: bool) -> RequestPublic:
        inquiry = views.inquiry(request)
        fee = request.fee
        return cls(
            request_number=request.request_number,
            status=request.status,
            status_label=inquiry.status_label,
            next_step=inquiry.next_step,
            permit=request.permit,
            reason=request.reason,
            phone=request.applicant.phone,
            lang=request.applicant.lang,
            fee_fils=request.fee_fils,
            fee=None
            if fee is None
            else FeePublic(
                amount_fils=fee.amount_fils,
                payment_reference=fee.payment_reference,
                due_at=fee.due_at,
                e_payment_number=fee.e_payment_number,
                paid_at=fee.paid_at,
            ),
            pending_bill=PendingBillPublic.of(fee.e_payment_number, fee.amount_fils, fee.due_at)
            if request.status is Status.AWAITING_PAYMENT
            and fee is not None
            and fee.e_payment_number is not None
            else None,
            rejection_reason=request.rejection_reason,
            valid_to_before=request.valid_to_before,
            valid_from=request.valid_from,
            valid_to=request.valid_to,
            submitted_at=request.submitted_at,
            completed_at=request.completed_at,
            version=request.version,
            timeline=[
                TimelineEntryPublic(
                    at=line.entry.at,
                    action=line.entry.action,
                    label=line.label,
                    source=line.entry.source,
                    target=line.entry.target,
                    target_label=line.target_label,
                    role=line.entry.role,
                    by=line.entry.by if for_staff else None,
                    why=line.entry.why,
                )
                for line in inquiry.timeline
            ],
        )


class RequestSummary(BaseModel):
    request_number: str
    status: Status
    status_label: LocalizedText
    contractor_number: str
    contractor_name: LocalizedText
    permit_number: str
    permit_year: int
    submitted_at: datetime


class PermitPublic(BaseModel):
    permit_number: str
    permit_year: int
    valid_from: date
    valid_to: date
    status: str
    last_renewal: str | None


class ContractorPublic(BaseModel):
    contractor_number: str
    name: LocalizedText
    classification: str
    category: str
    phone: str | None
    permits: list[PermitPublic]


class ImportReport(BaseModel):
    rows: int
    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]


def client_address(request: Request) -> str | None:
    """The caller's address: the gateway's X-Forwarded-For when it comes from TRUSTED_PROXIES."""
    return request.client.host if request.client else None


# ---- routes --------------------------------------------------------------------------------

router = APIRouter(prefix="/v1")


@router.post("/lookups", response_model=LookupAnswer, tags=["renewal"])
async def lookup(
    body: PermitLookup, user: Citizen, service: Service, request: Request
) -> LookupAnswer:
    """Step 1: the contractor's name if contractor number, permit number and year match
    (404 otherwise, without saying which; rate-limited per user and per client address, 429)."""
    name = await service.lookup(body.key(), actor(user), client_address(request))
    return LookupAnswer(contractor_name=name)


@router.post("/verifications", status_code=201, response_model=CodeSentAnswer, tags=["renewal"])
async def send_code(
    body: CodeRequest, user: Citizen, service: Service, request: Request
) -> CodeSentAnswer:
    """Step 2: a one-time code by SMS to the phone (at most one per minute per phone, a few per
    hour; with the lookups, limited per user and per client address; 429 otherwise)."""
    key = body.key()
    phone = domain.check_phone(body.phone)
    sent = await service.send_code(key, phone, body.lang, actor(user), client_address(request))
    return CodeSentAnswer(
        verification_id=sent.verification.id,
        phone_masked=mask_phone(phone),
        expires_at=sent.verification.expires_at,
        resend_after=sent.resend_after,
        attempts_allowed=sent.verification.max_attempts,
    )


@router.post("/requests", status_code=201, response_model=RequestPublic, tags=["renewal"])
async def submit(
    body: RenewalCreate,
    user: Citizen,
    service: Service,
    idempotency: Idempotency,
    key: IdempotencyKey,
) -> Any:
    """Step 2: submit the renewal with the code received; the request number arrives by SMS."""

    async def create() -> tuple[int, Any]:
        request = await service.submit(body.form(), actor(user))
        return 201, RequestPublic.of(request, for_staff=False)

    async def stored(key_id: str) -> tuple[int, Any] | None:
        request = await service.store.request_created_under(key_id)
        return None if request is None else (201, RequestPublic.of(request, for_staff=False))

    return await idempotency.run(
        scope=user.subject, key=key, payload=body, create=create, stored=stored
    )


@router.get("/requests", response_model=Page[RequestSummary], tags=["renewal"])
async def list_requests(
    user: Reader,
    service: Service,
    paging: Paging,
    status: Annotated[
        Status | None,
        Query(description="submitted = pending review; awaiting_payment = approved, unpaid."),
    ] = None,
) -> Page[RequestSummary]:
    """A citizen's own renewals; for reviewers every renewal, by status. Newest first."""
    query = RequestQuery(owner_subject=None if is_staff(user) else user.subject, status=status)
    requests, total = await service.search(query, skip=paging.skip, limit=paging.limit)
    return paging.page_of(
        [
            RequestSummary(
                request_number=r.request_number,
                status=r.status,
                status_label=views.status_label(r.status),
                contractor_number=r.permit.contractor_number,
                contractor_name=r.permit.contractor_name,
                permit_number=r.permit.permit_number,
                permit_year=r.permit.permit_year,
                submitted_at=r.submitted_at,
            )
            for r in requests
        ],
        total,
    )


@router.get("/requests/{number}", response_model=RequestPublic, tags=["renewal"])
async def get_request(number: str, user: Reader, service: Service) -> RequestPublic:
    """The request-inquiry screen."""
    request = await owned_request(service, number, user)
    return RequestPublic.of(request, for_staff=is_staff(user))


@router.post("/requests/{number}/approval", response_model=RequestPublic, tags=["staff"])
async def approve(number: str, body: Approval, user: Reviewer, service: Service) -> RequestPublic:
    """Approve: the fee is billed (SMS with the e-payment number), or a free renewal completes."""
    request = await service.approve(number, actor(user), body.note)
    return RequestPublic.of(request, for_staff=True)


@router.post("/requests/{number}/rejection", response_model=RequestPublic, tags=["staff"])
async def reject(number: str, body: Rejection, user: Rejecter, service: Service) -> RequestPublic:
    """Reject with a reason in Arabic and English (sent by SMS)."""
    request = await service.reject(number, actor(user), body.reason)
    return RequestPublic.of(request, for_staff=True)


_IMPORT_ROW: dict[str, Any] = {
    "type": "object",
    "description": "One row: the CSV's columns as members (values as text or numbers).",
    "properties": {column: {"type": ["string", "integer"]} for column in registry.COLUMNS},
    "required": list(registry.REQUIRED),
}
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": (
            f"The registry file, at most {MAX_IMPORT_BYTES // (1024 * 1024)} MB: CSV with the "
            f'header {",".join(registry.COLUMNS)}, or JSON, a list of rows or {{"rows": [...]}}.'
        ),
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"type": "array", "items": _IMPORT_ROW},
                        {
                            "type": "object",
                            "properties": {"rows": {"type": "array", "items": _IMPORT_ROW}},
                            "required": ["rows"],
                        },
                    ]
                }
            },
        },
    }
}


@router.post(
    "/registry/imports",
    response_model=ImportReport,
    tags=["registry"],
    openapi_extra=_IMPORT_BODY,
)
async def import_registry(
    request: Request,
    user: Registrar,
    service: Service,
    format: Annotated[
        Literal["csv", "json"] | None,
        Query(description="csv or json; by default from the Content-Type."),
    ] = None,
) -> ImportReport:
    """Import contractors and permits (CSV or JSON; upsert by number; all or nothing: a file
    with a bad row imports nothing and the answer names each bad row's line and field)."""
    content = await request.body()
    if len(content) > MAX_IMPORT_BYTES:
        raise Invalid(
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB",
            f"حجم الملف أكبر من {MAX_IMPORT_BYTES // (1024 * 1024)} ميغابايت",
            errors=[{"field": "body", "location": "body", "type": "too_large"}],
        )
    kind = format or ("json" if "json" in request.headers.get("content-type", "") else "csv")
    try:
        parsed = registry.parse(content, kind)
    except registry.BadFile as error:
        raise Invalid(
            error.detail,
            error.detail_ar,
            errors=[{"field": "body", "location": "body", "type": "bad_file"}],
        ) from None
    if parsed.errors:
        raise Invalid(
            f"{len(parsed.errors)} error(s) in the file: nothing was imported",
            f"عدد الأخطاء في الملف: {len(parsed.errors)}؛ لم يُستورد شيء",
            errors=[item.as_dict() for item in parsed.errors],
        )
    report = await service.import_registry(parsed)
    return ImportReport(**report.as_dict())


@router.get("/registry/contractors/{number}", response_model=ContractorPublic, tags=["registry"])
async def get_contractor(number: str, user: RegistryReader, service: Service) -> ContractorPublic:
    """A contractor of the registry with its permits (staff)."""
    normal = domain.normalise_number(number) or number
    contractor = await service.store.contractor(normal)
    if contractor is None:
        raise NotFound(f"no contractor {number}", f"لا يوجد مقاول بالرقم {number}")
    permits = await service.store.permits_of(normal)
    return ContractorPublic(
        contractor_number=contractor.number,
        name=contractor.name,
        classification=contractor.classification,
        category=contractor.category,
        phone=contractor.phone,
        permits=[
            PermitPublic(
                permit_number=p.number,
                permit_year=p.year,
                valid_from=p.valid_from,
                valid_to=p.valid_to,
                status=p.status.value,
                last_renewal=p.last_renewal,
            )
            for p in permits
        ],
    )
