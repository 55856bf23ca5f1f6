"""The bill and its refunds: the aggregate, and the rules that change it. Pure: no I/O.

A bill answers one payment request (one payment reference). It is `new` until exactly one of:
paid (by a provider's notification for the exact amount, before the due time), expired (the due
time passed) or cancelled (the requesting service withdrew the request). A paid bill may then carry
refunds, which the requesting service asks for and, when the refund needs approval, a finance
approver decides. Each function takes the current bill and what happened, and returns the new bill
with the events to publish (a `Change`), None when there is nothing to do, or raises one of the
errors below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts import (
    Applicant,
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    LocalizedText,
    PaymentRequested,
    RefundApproved,
    RefundRejected,
    RefundRequested,
    reference_parts,
)
from services.common.documents.model import Due
from services.common.errors import DomainError, NotAllowedNow, RuleBroken, Unknown
from services.common.workflow import Actor, Raised, TimelineEntry, find_step, moved, system
from services.payments.domain.receipt import paid_receipt
from services.payments.domain.workflow import (
    BILL_WORKFLOW,
    EXPIRY_RESOLUTION,
    PAYMENT_PROVIDER,
    REFUND_WORKFLOW,
    SYSTEM,
    BillAction,
    BillStatus,
    ExceptionKind,
    RefundAction,
    RefundStatus,
    Step,
    step,
)

# ---- errors ----------------------------------------------------------------------------------


class PaymentRefused(DomainError):
    """A payment notification that cannot be applied: it becomes a reconciliation exception."""

    def __init__(self, kind: ExceptionKind, detail: str, detail_ar: str) -> None:
        super().__init__(detail, detail_ar)
        self.kind = kind


# ---- the aggregate ---------------------------------------------------------------------------


class Record(BaseModel):
    """Base of what is stored: immutable values, compared by content."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class PaymentNotice(Record):
    """A provider's payment notification, in the provider's neutral terms (see efawateercom.py)."""

    provider: str
    provider_transaction_id: str
    e_payment_number: str
    biller_code: str | None = None
    provider_service_type: str | None = None
    paid_amount_fils: int = Field(ge=0)
    fees_fils: int = Field(default=0, ge=0)
    bank_transaction_id: str | None = None
    bank_code: str | None = None
    paid_at: datetime
    access_channel: str | None = None
    payment_method: str | None = None

    @property
    def key(self) -> str:
        """One notification per provider transaction: the provider repeats it until answered."""
        return f"{self.provider}:{self.provider_transaction_id}"


class Payment(Record):
    """How a bill was paid, kept for reconciliation."""

    provider: str
    provider_transaction_id: str
    bank_transaction_id: str | None = None
    bank_code: str | None = None
    paid_amount_fils: int
    fees_fils: int = 0
    paid_at: datetime
    access_channel: str | None = None
    payment_method: str | None = None
    received_at: datetime


class Refund(Record):
    refund_reference: str
    request_number: str
    amount_fils: int
    reason: LocalizedText
    needs_approval: bool
    status: RefundStatus
    payer: Applicant
    requested_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    decided_by_role: str | None = None
    note: str | None = None


class Bill(Record):
    e_payment_number: str
    payment_reference: str
    request_number: str
    requesting_service: str
    service_type: str
    provider_service_type: str
    biller_code: str
    amount_fils: int
    currency: str = "JOD"
    description: LocalizedText
    payer: Applicant
    owner_subject: str | None = None
    status: BillStatus
    issued_at: datetime
    due_at: datetime
    closed_at: datetime | None = None
    payment: Payment | None = None
    refunds: tuple[Refund, ...] = ()
    history: tuple[TimelineEntry, ...] = ()
    # The receipt's PDF (issue #17), staged with the payment: its document id (the PDF's
    # address) and the id of its public verification page. None: not paid, or paid before
    # receipts were documents.
    receipt_document_id: str | None = None
    receipt_verification_id: str | None = None
    version: int = 0

    @property
    def is_payable(self) -> bool:
        return self.status is BillStatus.NEW

    @property
    def expires_at(self) -> datetime | None:
        """When the sweeper must expire it; None once it is no longer new."""
        return self.due_at + EXPIRY_RESOLUTION if self.status is BillStatus.NEW else None

    @property
    def refunded_or_held_fils(self) -> int:
        """Refunds approved or awaiting approval: money no longer free to refund again."""
        return sum(r.amount_fils for r in self.refunds if r.status is not RefundStatus.REJECTED)

    @property
    def refundable_fils(self) -> int:
        paid = self.payment.paid_amount_fils if self.payment else 0
        return paid - self.refunded_or_held_fils

    def refund(self, refund_reference: str) -> Refund | None:
        return next((r for r in self.refunds if r.refund_reference == refund_reference), None)


@dataclass(frozen=True)
class Change:
    """A bill as a rule changed it, with the events to publish in the same write."""

    bill: Bill
    events: tuple[Raised, ...] = ()
    # The documents the change issues (the receipt, with the payment), staged in the same write.
    documents: tuple[Due, ...] = ()


@dataclass(frozen=True)
class Issue:
    """What the biller adds to a payment request to make a bill."""

    e_payment_number: str
    biller_code: str
    provider_service_type: str
    now: datetime


def _about(bill: Bill) -> dict[str, object]:
    """What every bill event says about its bill."""
    return {
        "payment_reference": bill.payment_reference,
        "request_number": bill.request_number,
        "e_payment_number": bill.e_payment_number,
        "applicant": bill.payer,
    }


def provider(notice: PaymentNotice) -> Actor:
    """The payment provider, acting on a bill through its notification."""
    return Actor(notice.provider, frozenset({PAYMENT_PROVIDER}))


# ---- issue -----------------------------------------------------------------------------------


def provider_service_type(service_type: str, mapping: Mapping[str, str], default: str) -> str:
    """The provider's service-type code of a fee kind: exact key, then its service, else default."""
    if service_type in mapping:
        return mapping[service_type]
    service = service_type.split(".", 1)[0]
    return mapping.get(service, default)


def requesting_service(payment_reference: str) -> str:
    """The service a payment reference (`<service>:<request number>:<purpose>`) belongs to."""
    parts = reference_parts(payment_reference)
    if parts is None:
        raise RuleBroken(
            f"{payment_reference} is not a payment reference",
            f"{payment_reference} ليس مرجع دفع صالحاً",
            field="payment_reference",
        )
    return parts[0]


def issue_bill(request: PaymentRequested, issue: Issue) -> Change:
    if request.due_at <= issue.now:
        raise RuleBroken(
            f"the due time {request.due_at.isoformat()} has already passed",
            "موعد استحقاق الفاتورة قد مضى",
        )
    service = requesting_service(request.payment_reference)
    bill = Bill(
        e_payment_number=issue.e_payment_number,
        payment_reference=request.payment_reference,
        request_number=request.request_number,
        requesting_service=service,
        service_type=request.service_type,
        provider_service_type=issue.provider_service_type,
        biller_code=issue.biller_code,
        amount_fils=request.amount_fils,
        currency=request.currency,
        description=request.description,
        payer=request.payer,
        owner_subject=request.owner_subject,
        status=BillStatus.NEW,
        issued_at=issue.now,
        due_at=request.due_at,
        history=(
            _entry(
                BILL_WORKFLOW, BillAction.ISSUE, None, system(service), issue.now, BillStatus.NEW
            ),
        ),
    )
    issued = BillIssued(
        **_about(bill),
        amount_fils=bill.amount_fils,
        currency=request.currency,
        due_at=bill.due_at,
        description=bill.description,
        biller_code=bill.biller_code,
    )
    return Change(bill, (Raised("payments.bill.issued.v1", issued),))


# ---- pay -------------------------------------------------------------------------------------


def _entry(
    workflow: tuple[Step, ...],
    action: str,
    source: str | None,
    actor: Actor,
    now: datetime,
    target: str,
    *,
    prefix: str = "",
    why: str | None = None,
) -> TimelineEntry:
    """A timeline line for a move `moved` does not make (the bill's first, a refund's): the
    actor's role for the row of `action` from `source` (NotPermitted if it has none)."""
    row = find_step(workflow, action, source)
    return TimelineEntry(
        at=now,
        action=f"{prefix}{action}",
        source=None if source is None else f"{prefix.rstrip('.')} {source}".lstrip(),
        target=target,
        by=actor.subject,
        role=actor.role_for(row),
        why=why,
    )


def pay(bill: Bill | None, notice: PaymentNotice, now: datetime) -> Change | None:
    """Apply a payment notification, or refuse it with the exception kind to record. The bill
    paid carries its receipt (`receipt.py`), staged in the same write.

    The same provider transaction applied again is a no-op (the provider repeats a notification
    until it gets an answer). Only the exact amount pays a bill: partial payment is not allowed by
    any fee schedule, and an overpayment would leave money nobody asked for.
    """
    number = notice.e_payment_number
    if bill is None or notice.biller_code not in (None, bill.biller_code):
        raise PaymentRefused(
            ExceptionKind.UNKNOWN_BILL,
            f"no bill has the number {number}",
            f"لا توجد فاتورة بالرقم {number}",
        )
    if bill.payment is not None and notice.key == _key_of(bill.payment):
        return None
    if bill.status is BillStatus.PAID:
        raise PaymentRefused(
            ExceptionKind.ALREADY_PAID,
            f"bill {number} was already paid by another transaction",
            f"الفاتورة {number} مدفوعة مسبقًا بحركة أخرى",
        )
    if bill.status is BillStatus.CANCELLED:
        raise PaymentRefused(
            ExceptionKind.BILL_CANCELLED,
            f"bill {number} is cancelled and cannot be paid",
            f"الفاتورة {number} ملغاة ولا يمكن دفعها",
        )
    if bill.status is BillStatus.EXPIRED or now > bill.due_at:
        raise PaymentRefused(
            ExceptionKind.BILL_EXPIRED,
            f"bill {number} expired at {bill.due_at.isoformat()} and cannot be paid",
            f"انتهت صلاحية الفاتورة {number} ولا يمكن دفعها",
        )
    if notice.paid_amount_fils != bill.amount_fils:
        raise PaymentRefused(
            ExceptionKind.AMOUNT_MISMATCH,
            f"bill {number} is for {bill.amount_fils} fils, not {notice.paid_amount_fils}",
            f"مبلغ الفاتورة {number} هو {bill.amount_fils} فلس وليس {notice.paid_amount_fils}",
        )
    payment = Payment(
        provider=notice.provider,
        provider_transaction_id=notice.provider_transaction_id,
        bank_transaction_id=notice.bank_transaction_id,
        bank_code=notice.bank_code,
        paid_amount_fils=notice.paid_amount_fils,
        fees_fils=notice.fees_fils,
        paid_at=notice.paid_at,
        access_channel=notice.access_channel,
        payment_method=notice.payment_method,
        received_at=now,
    )
    paid = moved(
        bill, BILL_WORKFLOW, BillAction.PAY, provider(notice), now, closed_at=now, payment=payment
    )
    document = paid_receipt(paid, payment, now)
    paid = paid.model_copy(
        update={
            "receipt_document_id": document.id,
            "receipt_verification_id": document.verification_id,
        }
    )
    event = BillPaid(
        **_about(bill),
        amount_fils=notice.paid_amount_fils,
        paid_at=notice.paid_at,
        provider=notice.provider,
        provider_transaction_id=notice.provider_transaction_id,
    )
    return Change(paid, (Raised("payments.bill.paid.v1", event),), (document,))


def _key_of(payment: Payment) -> str:
    return f"{payment.provider}:{payment.provider_transaction_id}"


# ---- expire and cancel -----------------------------------------------------------------------


def expire(bill: Bill, now: datetime) -> Change | None:
    """Expire a new bill whose due time has passed; anything else is left as it is (None)."""
    if bill.status is not BillStatus.NEW or now <= bill.due_at:
        return None
    expired = moved(bill, BILL_WORKFLOW, BillAction.EXPIRE, system(SYSTEM), now, closed_at=now)
    event = BillExpired(**_about(bill), at=now)
    return Change(expired, (Raised("payments.bill.expired.v1", event),))


def cancel(bill: Bill, why: str, now: datetime) -> Change | None:
    """Cancel an unpaid bill. A paid, expired or already cancelled one stays as it is (None): its
    own event (paid, expired, cancelled) already told the requesting service how it ended."""
    if bill.status is not BillStatus.NEW:
        return None
    cancelled = moved(
        bill,
        BILL_WORKFLOW,
        BillAction.CANCEL,
        system(bill.requesting_service),
        now,
        why=why,
        closed_at=now,
    )
    event = BillCancelled(**_about(bill), at=now)
    return Change(cancelled, (Raised("payments.bill.cancelled.v1", event),))


# ---- refunds ---------------------------------------------------------------------------------


def _refund_event(bill: Bill, refund: Refund) -> Raised:
    assert refund.decided_by_role is not None
    fields = {
        "refund_reference": refund.refund_reference,
        "payment_reference": bill.payment_reference,
        "request_number": refund.request_number,
        "amount_fils": refund.amount_fils,
        "decided_by_role": refund.decided_by_role,
        "reason": refund.note,
        "applicant": refund.payer,
    }
    if refund.status is RefundStatus.APPROVED:
        return Raised("payments.refund.approved.v1", RefundApproved.model_validate(fields))
    return Raised("payments.refund.rejected.v1", RefundRejected.model_validate(fields))


def request_refund(bill: Bill | None, request: RefundRequested, now: datetime) -> Change | None:
    """Record a refund of a paid bill; one not needing approval is approved at once."""
    reference = request.payment_reference
    if bill is None:
        raise Unknown(f"no bill for payment {reference}", f"لا توجد فاتورة للدفعة {reference}")
    if bill.refund(request.refund_reference) is not None:
        return None
    if bill.status is not BillStatus.PAID:
        raise RuleBroken(
            f"the bill for {reference} is {bill.status}, not paid: there is nothing to refund",
            f"الفاتورة الخاصة بـ {reference} غير مدفوعة ولا يوجد ما يُسترد",
        )
    if request.amount_fils > bill.refundable_fils:
        raise RuleBroken(
            f"a refund of {request.amount_fils} fils exceeds the {bill.refundable_fils} fils "
            f"still refundable on {reference}",
            f"مبلغ الاسترداد {request.amount_fils} فلس يتجاوز المبلغ القابل للاسترداد "
            f"{bill.refundable_fils} فلس",
        )
    action = RefundAction.REQUEST if request.needs_approval else RefundAction.APPROVE_AT_ONCE
    move = step(REFUND_WORKFLOW, action)
    refund = Refund(
        refund_reference=request.refund_reference,
        request_number=request.request_number,
        amount_fils=request.amount_fils,
        reason=request.reason,
        needs_approval=request.needs_approval,
        status=RefundStatus(move.target),
        payer=request.payer,
        requested_at=now,
    )
    events: tuple[Raised, ...] = ()
    if refund.status is RefundStatus.APPROVED:
        refund = refund.model_copy(
            update={"decided_at": now, "decided_by": SYSTEM, "decided_by_role": SYSTEM}
        )
        events = (_refund_event(bill, refund),)
    entry = _entry(
        REFUND_WORKFLOW,
        action,
        None,
        system(bill.requesting_service),
        now,
        f"refund {refund.status}",
        prefix="refund.",
        why=request.refund_reference,
    )
    changed = bill.model_copy(
        update={"refunds": (*bill.refunds, refund), "history": (*bill.history, entry)}
    )
    return Change(changed, events)


def decide_refund(
    bill: Bill,
    refund_reference: str,
    *,
    approve: bool,
    actor: Actor,
    note: str | None,
    now: datetime,
) -> Change:
    """A finance approver approves or rejects a refund that waits for approval."""
    action = RefundAction.APPROVE if approve else RefundAction.REJECT
    move = step(REFUND_WORKFLOW, action)
    role = actor.role_for(move)
    refund = bill.refund(refund_reference)
    if refund is None:
        raise Unknown(f"no refund {refund_reference}", f"لا يوجد استرداد {refund_reference}")
    if refund.status != move.source:
        raise NotAllowedNow(
            f"refund {refund_reference} is already {refund.status}",
            f"تم البت في الاسترداد {refund_reference} مسبقًا",
        )
    decided = refund.model_copy(
        update={
            "status": RefundStatus(move.target),
            "decided_at": now,
            "decided_by": actor.subject,
            "decided_by_role": role,
            "note": note,
        }
    )
    entry = _entry(
        REFUND_WORKFLOW,
        action,
        refund.status,
        actor,
        now,
        f"refund {decided.status}",
        prefix="refund.",
        why=note,
    )
    refunds = tuple(decided if r.refund_reference == refund_reference else r for r in bill.refunds)
    changed = bill.model_copy(update={"refunds": refunds, "history": (*bill.history, entry)})
    return Change(changed, (_refund_event(bill, decided),))
