"""What the API shows of a licence request: the inquiry (labels, next step, documents, SLA,
timeline, the pending bill in Arabic and English) and the licence's public page.

Presentation only, outside the domain: it reads the domain's records and tables and shapes them
for a citizen, an employee or anyone holding a licence link.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from contracts import Applicant, LocalizedText
from services.common.formatting import PendingBillPublic
from services.common.formatting import TimelineLinePublic as TimelineEntry
from services.licensing import domain
from services.licensing.domain import DOCUMENT_NAMES, STATES, LicenceRequest


class Named(BaseModel):
    code: str
    name: LocalizedText


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
    verification_url: str = Field(description="The licence's own page (the SMS's link).")
    document_id: str | None = Field(
        description="The licence's PDF in `/v1/documents` (null: issued before licences were PDFs)."
    )
    pdf_url: str | None = Field(
        description="Where the holder (or staff) downloads the PDF, relative to the service; "
        "404 for the few seconds before it is rendered."
    )
    document_verification_url: str | None = Field(
        description="The PDF's public verification page (its QR code)."
    )


class SlaPublic(BaseModel):
    target_working_days: int
    target_at: datetime | None = Field(description="Moved on by working days spent waiting.")
    clock: str = Field(description="not_started, running, paused (waiting for you or another "
                       "authority) or stopped")  # fmt: skip
    is_overdue: bool
    breached_at: datetime | None


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


def _documents(request: LicenceRequest) -> list[DocumentPublic]:
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
    return documents


def _pending_bill(request: LicenceRequest) -> PendingBillPublic | None:
    if (
        request.status is not domain.RequestStatus.AWAITING_PAYMENT
        or request.e_payment_number is None
        or request.bill_amount_fils is None
        or request.bill_due_at is None
    ):
        return None
    return PendingBillPublic.of(
        request.e_payment_number, request.bill_amount_fils, request.bill_due_at
    )


def _timeline(request: LicenceRequest, is_staff: bool) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=entry.at,
            action=entry.action,
            status_from=entry.source,
            status_to=entry.target,
            label=domain.label(entry.action, entry.source, entry.target),
            # A citizen sees that staff acted, not which employee.
            by=entry.by if is_staff or entry.role == domain.SYSTEM else
            ("applicant" if entry.by == request.owner_subject else "staff"),
            reason=entry.why,
        )
        for entry in request.history
    ]  # fmt: skip


def request_public(
    request: LicenceRequest,
    *,
    is_staff: bool,
    now: datetime,
    verification_url: Callable[[str], str],
    document_url: Callable[[str], str],
) -> RequestPublic:
    """The inquiry of `request`; `verification_url(token)` is the licence's link,
    `document_url(verification_id)` its PDF's verification page."""
    state = STATES[request.status]
    licence = request.licence
    return RequestPublic(
        number=request.number,
        version=request.version,
        status=request.status,
        status_label=LocalizedText(ar=state.label_ar, en=state.label_en),
        next_step=LocalizedText(
            ar=state.next_ar or "لا شيء: الطلب مغلق",
            en=state.next_en or "Nothing: the request is closed",
        ),
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
        documents=_documents(request),
        inspection_at=request.inspection_at,
        findings=request.findings,
        external_approvals=[
            ExternalApprovalPublic(**a.model_dump()) for a in request.external_approvals
        ],
        decision_reasons=request.decision_reasons,
        e_payment_number=request.e_payment_number,
        pending_bill=_pending_bill(request),
        licence=None if licence is None else LicencePublic(
            number=licence.number, issued_at=licence.issued_at, valid_until=licence.valid_until,
            verification_url=verification_url(licence.token),
            document_id=licence.document_id,
            pdf_url=f"/v1/documents/{licence.document_id}/pdf" if licence.document_id else None,
            document_verification_url=_document_url(licence, document_url),
        ),
        sla=SlaPublic(
            target_working_days=domain.SLA_WORKING_DAYS,
            target_at=request.sla_due_at,
            clock=state.sla,
            is_overdue=domain.is_overdue(request, now),
            breached_at=request.sla_breached_at,
        ),
        timeline=_timeline(request, is_staff),
    )  # fmt: skip


# ---- the licence, by its link ------------------------------------------------------------------


def _document_url(licence: domain.Licence, document_url: Callable[[str], str]) -> str | None:
    return document_url(licence.verification_id) if licence.verification_id else None


def licence_json(
    request: LicenceRequest, is_valid: bool, document_url: Callable[[str], str]
) -> dict[str, Any]:
    licence = request.licence
    assert licence is not None
    return {
        "licence_number": licence.number,
        "request_number": request.number,
        "trade_name": request.trade_name,
        "holder": domain.licence_holder(request),
        "profession": request.profession.model_dump(),
        "camp": request.camp.model_dump(),
        "address": request.address,
        "area_m2": request.area_m2,
        "issued_at": licence.issued_at.isoformat(),
        "valid_until": licence.valid_until.isoformat(),
        "is_valid": is_valid,
        "fee_fils": request.fee_fils,
        "e_payment_number": licence.e_payment_number,
        "document_verification_url": _document_url(licence, document_url),
    }


def licence_page(
    request: LicenceRequest, is_valid: bool, document_url: Callable[[str], str]
) -> str:
    licence = request.licence
    assert licence is not None
    e = html.escape
    holder = domain.licence_holder(request)
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
<p>رقم الطلب / Request: {e(request.number)}</p>{_document_links(licence, document_url)}
</body></html>
"""


def _document_links(licence: domain.Licence, document_url: Callable[[str], str]) -> str:
    """Where the licence's PDF is checked (its QR code's page), and where its holder gets it."""
    url = _document_url(licence, document_url)
    if url is None:
        return ""
    e = html.escape
    return f"""
<p id="document"><a href="{e(url)}">التحقق من الرخصة الورقية (PDF)</a> /
<a lang="en" dir="ltr" href="{e(url)}">Verify the printed licence (PDF)</a></p>
<p>يحمّل صاحب الرخصة ملف PDF من حسابه في قائمة وثائقه /
<span lang="en" dir="ltr">The holder, signed in, downloads the PDF from their documents.</span>
</p>"""
