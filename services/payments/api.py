"""The people's API: citizens' own bills; finance staff's search, refunds, exceptions, reports.

Routes only translate: authorise, call the store or the use case, shape the answer. The payment
provider's calls are in efawateercom.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from contracts import Applicant, LocalizedText
from services.common.auth import CurrentUser, Principal, ensure_owner, require_roles
from services.common.listing import Page, Paging
from services.common.problems import NotFound
from services.common.text import IsoDate, SafeMultiline
from services.common.workflow import Actor
from services.payments import domain, reports
from services.payments.domain import (
    BILL_WORKFLOW,
    FINANCE_READERS,
    REFUND_WORKFLOW,
    Bill,
    BillStatus,
    Notification,
    Refund,
    RefundAction,
    RefundStatus,
)
from services.payments.service import Payments
from services.payments.store import BillQuery


async def get_payments(request: Request) -> Payments:
    payments: Payments = request.app.state.runtime.service
    return payments


PaymentsDep = Annotated[Payments, Depends(get_payments)]
FinanceReader = Annotated[Principal, Depends(require_roles(*FINANCE_READERS))]
RefundDecider = Annotated[
    Principal,
    Depends(require_roles(*domain.roles_for(REFUND_WORKFLOW, RefundAction.APPROVE))),
]


def bill_not_found(number: str) -> NotFound:
    return NotFound(f"no bill has the number {number}", f"لا توجد فاتورة بالرقم {number}")


# ---- schemas ---------------------------------------------------------------------------------


class PaymentPublic(BaseModel):
    provider: str
    provider_transaction_id: str
    bank_transaction_id: str | None
    paid_amount_fils: int
    fees_fils: int
    paid_at: datetime
    access_channel: str | None


class RefundPublic(BaseModel):
    refund_reference: str
    payment_reference: str
    e_payment_number: str
    request_number: str
    amount_fils: int
    reason: LocalizedText
    needs_approval: bool
    status: RefundStatus
    requested_at: datetime
    decided_at: datetime | None
    decided_by_role: str | None
    note: str | None

    @classmethod
    def of(cls, bill: Bill, refund: Refund) -> RefundPublic:
        return cls(
            **refund.model_dump(
                include={
                    "refund_reference",
                    "request_number",
                    "amount_fils",
                    "needs_approval",
                    "status",
                    "requested_at",
                    "decided_at",
                    "decided_by_role",
                    "note",
                }
            ),
            reason=refund.reason,
            payment_reference=bill.payment_reference,
            e_payment_number=bill.e_payment_number,
        )


class ReceiptPublic(BaseModel):
    """The paid bill's receipt (a PDF in `/v1/documents`)."""

    document_id: str
    pdf_url: str = Field(
        description="Where the bill's owner (or finance staff) downloads the PDF, relative to "
        "the service; 404 for the few seconds before it is rendered."
    )
    verification_url: str = Field(description="The receipt's public verification page (its QR).")

    @classmethod
    def of(cls, bill: Bill, verification_url: Callable[[str], str]) -> ReceiptPublic | None:
        if bill.receipt_document_id is None or bill.receipt_verification_id is None:
            return None
        return cls(
            document_id=bill.receipt_document_id,
            pdf_url=f"/v1/documents/{bill.receipt_document_id}/pdf",
            verification_url=verification_url(bill.receipt_verification_id),
        )


class TimelineEntry(BaseModel):
    at: datetime
    action: str
    label: LocalizedText
    source: str | None
    target: str
    by: str | None = Field(description="Who acted; shown to finance staff only.")
    why: str | None


class BillPublic(BaseModel):
    e_payment_number: str
    biller_code: str
    payment_reference: str
    request_number: str
    service: str
    service_type: str
    amount_fils: int
    currency: str
    description: LocalizedText
    payer: Applicant
    status: BillStatus
    status_label: LocalizedText
    issued_at: datetime
    due_at: datetime
    closed_at: datetime | None
    next_step: LocalizedText | None
    payment: PaymentPublic | None
    receipt: ReceiptPublic | None = Field(
        description="A paid bill's receipt; null before payment (and for bills paid before "
        "receipts were documents)."
    )
    refunds: list[RefundPublic]
    timeline: list[TimelineEntry]

    @classmethod
    def of(
        cls, bill: Bill, *, for_staff: bool, verification_url: Callable[[str], str]
    ) -> BillPublic:
        return cls(
            e_payment_number=bill.e_payment_number,
            biller_code=bill.biller_code,
            payment_reference=bill.payment_reference,
            request_number=bill.request_number,
            service=bill.requesting_service,
            service_type=bill.service_type,
            amount_fils=bill.amount_fils,
            currency=bill.currency,
            description=bill.description,
            payer=bill.payer,
            status=bill.status,
            status_label=_label(BILL_WORKFLOW, target=bill.status),
            issued_at=bill.issued_at,
            due_at=bill.due_at,
            closed_at=bill.closed_at,
            next_step=_next_step(bill),
            payment=None
            if bill.payment is None
            else PaymentPublic(**bill.payment.model_dump(include=set(PaymentPublic.model_fields))),
            receipt=ReceiptPublic.of(bill, verification_url),
            refunds=[RefundPublic.of(bill, refund) for refund in bill.refunds],
            timeline=[
                TimelineEntry(
                    at=entry.at,
                    action=entry.action,
                    label=_label_of_action(entry.action),
                    source=entry.source,
                    target=entry.target,
                    by=entry.by if for_staff else None,
                    why=entry.why,
                )
                for entry in bill.history
            ],
        )


def _next_step(bill: Bill) -> LocalizedText | None:
    """What the payer does next, in both languages: only a new bill asks for anything."""
    if bill.status is BillStatus.NEW:
        due = bill.due_at.isoformat()
        return LocalizedText(
            en=f"Pay with e-payment number {bill.e_payment_number} by {due}",
            ar=f"ادفع باستخدام رقم الدفع الإلكتروني {bill.e_payment_number} قبل {due}",
        )
    return None


def _label(workflow: tuple[domain.Step, ...], *, target: str) -> LocalizedText:
    move = next(m for m in workflow if m.target == target)
    return LocalizedText(en=move.label_en, ar=move.label_ar)


def _label_of_action(action: str) -> LocalizedText:
    workflow, name = (
        (REFUND_WORKFLOW, action.removeprefix("refund."))
        if action.startswith("refund.")
        else (BILL_WORKFLOW, action)
    )
    move = domain.step(workflow, name)
    return LocalizedText(en=move.label_en, ar=move.label_ar)


class RefundDecision(BaseModel):
    note: SafeMultiline | None = Field(
        default=None, max_length=1000, description="Why: sent to the requesting service."
    )


class PaymentExceptionPublic(PaymentPublic):
    id: str = Field(description="<provider>:<provider transaction id>")
    kind: domain.ExceptionKind | None
    detail: str | None
    detail_ar: str | None
    refund_due_fils: int
    e_payment_number: str
    received_at: datetime

    @classmethod
    def of(cls, notification: Notification) -> PaymentExceptionPublic:
        notice = notification.notice
        return cls(
            id=notification.key,
            kind=notification.exception,
            detail=notification.detail,
            detail_ar=notification.detail_ar,
            refund_due_fils=notification.refund_due_fils,
            received_at=notification.received_at,
            e_payment_number=notice.e_payment_number,
            **notice.model_dump(include=set(PaymentPublic.model_fields)),
        )


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


# ---- routes ----------------------------------------------------------------------------------

router = APIRouter(prefix="/v1")


@router.get("/bills", response_model=Page[BillPublic], tags=["bills"])
async def list_bills(
    user: CurrentUser,
    payments: PaymentsDep,
    paging: Paging,
    status: BillStatus | None = None,
    service: Annotated[str | None, Query(description="Requesting service, e.g. exams.")] = None,
    service_type: Annotated[str | None, Query(description="Fee kind, e.g. exams.exam_fee.")] = None,
    issued_from: Annotated[IsoDate | None, Query(description="First day (Amman) of issue.")] = None,
    issued_to: Annotated[IsoDate | None, Query(description="Last day (Amman) of issue.")] = None,
) -> Page[BillPublic]:
    """A citizen's own bills; for finance staff, every bill, filtered. Newest first."""
    for_staff = user.has_any(*FINANCE_READERS)
    query = BillQuery(
        status=status,
        service=service,
        service_type=service_type,
        issued_from=None if issued_from is None else reports.day_window(issued_from)[0],
        issued_to=None if issued_to is None else reports.day_window(issued_to)[1],
        owner_subject=None if for_staff else user.subject,
    )
    bills, total = await payments.store.search(query, skip=paging.skip, limit=paging.limit)
    shown = [
        BillPublic.of(bill, for_staff=for_staff, verification_url=payments.verification_url)
        for bill in bills
    ]
    return paging.page_of(shown, total)


@router.get("/bills/{e_payment_number}", response_model=BillPublic, tags=["bills"])
async def get_bill(e_payment_number: str, user: CurrentUser, payments: PaymentsDep) -> BillPublic:
    """One bill with its payment, refunds and timeline: its owner's, or any for finance staff."""
    bill = await payments.store.by_number(e_payment_number)
    if bill is None:
        raise bill_not_found(e_payment_number)
    ensure_owner(
        user,
        bill.owner_subject or "",
        staff_roles=FINANCE_READERS,
        not_found=bill_not_found(e_payment_number),
    )
    return BillPublic.of(
        bill,
        for_staff=user.has_any(*FINANCE_READERS),
        verification_url=payments.verification_url,
    )


@router.get("/refunds", response_model=Page[RefundPublic], tags=["refunds"])
async def list_refunds(
    user: FinanceReader,
    payments: PaymentsDep,
    paging: Paging,
    status: RefundStatus = RefundStatus.PENDING_APPROVAL,
) -> Page[RefundPublic]:
    """Refunds in a status (by default those waiting for approval), newest request first, for
    finance staff."""
    found, total = await payments.store.refunds(status, skip=paging.skip, limit=paging.limit)
    return paging.page_of([RefundPublic.of(bill, refund) for bill, refund in found], total)


@router.get("/refunds/{refund_reference}", response_model=RefundPublic, tags=["refunds"])
async def get_refund(
    refund_reference: str, user: FinanceReader, payments: PaymentsDep
) -> RefundPublic:
    """One refund, for finance staff."""
    bill = await payments.store.by_refund_reference(refund_reference)
    refund = None if bill is None else bill.refund(refund_reference)
    if bill is None or refund is None:
        raise NotFound(f"no refund {refund_reference}", f"لا يوجد استرداد {refund_reference}")
    return RefundPublic.of(bill, refund)


async def _decide(
    payments: Payments, refund_reference: str, user: Principal, note: str | None, approve: bool
) -> RefundPublic:
    bill, refund = await payments.decide_refund(
        refund_reference, approve=approve, actor=Actor(user.subject, user.roles), note=note
    )
    return RefundPublic.of(bill, refund)


@router.post("/refunds/{refund_reference}/approval", response_model=RefundPublic, tags=["refunds"])
async def approve_refund(
    refund_reference: str, body: RefundDecision, user: RefundDecider, payments: PaymentsDep
) -> RefundPublic:
    """Approve a refund waiting for approval (finance.approver); publishes refund.approved."""
    return await _decide(payments, refund_reference, user, body.note, approve=True)


@router.post("/refunds/{refund_reference}/rejection", response_model=RefundPublic, tags=["refunds"])
async def reject_refund(
    refund_reference: str, body: RefundDecision, user: RefundDecider, payments: PaymentsDep
) -> RefundPublic:
    """Reject a refund waiting for approval (finance.approver); publishes refund.rejected."""
    return await _decide(payments, refund_reference, user, body.note, approve=False)


@router.get(
    "/payment-exceptions", response_model=Page[PaymentExceptionPublic], tags=["reconciliation"]
)
async def list_payment_exceptions(
    user: FinanceReader,
    payments: PaymentsDep,
    paging: Paging,
    received_from: Annotated[IsoDate | None, Query(description="First day (Amman).")] = None,
    received_to: Annotated[IsoDate | None, Query(description="Last day (Amman).")] = None,
) -> Page[PaymentExceptionPublic]:
    """Payments received that could not be applied to a bill: each is money to give back."""
    items, total = await payments.store.exceptions(
        start=None if received_from is None else reports.day_window(received_from)[0],
        end=None if received_to is None else reports.day_window(received_to)[1],
        skip=paging.skip,
        limit=paging.limit,
    )
    return paging.page_of([PaymentExceptionPublic.of(item) for item in items], total)


@router.get(
    "/reports/daily",
    response_model=reports.DailyReport,
    tags=["reconciliation"],
    responses={200: {"content": {"text/csv": {}}}},
)
async def daily_report(
    user: FinanceReader,
    payments: PaymentsDep,
    day: Annotated[IsoDate, Query(description="The day, in Amman.")],
    format: Annotated[ReportFormat, Query(description="json or csv.")] = ReportFormat.JSON,
) -> reports.DailyReport | Response:
    """The day's reconciliation: bills issued, paid, expired, cancelled, refunds, exceptions."""
    report = await payments.daily_report(day)
    if format is ReportFormat.CSV:
        return Response(
            reports.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="payments-{day}.csv"'},
        )
    return report
