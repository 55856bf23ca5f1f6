"""The renewal request and every transition: each takes the current request and what happened,
and returns the new request with the events to raise (a `Change`), None when there is nothing to
do (a redelivered event, a request already moved), or raises a `DomainError`. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from contracts import (
    Applicant,
    LocalizedText,
    PaymentRequested,
    RefundRequested,
    reference,
    reference_parts,
)
from contracts.contractors import (
    PermitRef,
    RenewalApproved,
    RenewalCancelled,
    RenewalCompleted,
    RenewalRejected,
    RenewalSubmitted,
)
from services.common.documents.model import Due
from services.common.errors import NotAllowedNow
from services.common.workflow import Actor, Fee, Raised, TimelineEntry, find_step, moved, system
from services.contractors.domain.application import permit_id
from services.contractors.domain.documents import renewed_permit
from services.contractors.domain.permits import (
    Contractor,
    FeeSchedule,
    Permit,
    Record,
    amman_date,
    check_renewable,
    new_validity,
    permit_ref,
)
from services.contractors.domain.workflow import (
    FEE_PURPOSE,
    LATE_PAYMENT_REFUND_PURPOSE,
    SERVICE,
    SERVICE_TYPE,
    STATES,
    WORKFLOW,
    Action,
    Branch,
    CancelCause,
    Status,
)


class RenewalRequest(Record):
    request_number: str
    owner_subject: str
    permit: PermitRef
    reason: str
    applicant: Applicant
    status: Status
    submitted_at: datetime
    valid_to_before: date
    fee_fils: int | None = None
    fee: Fee | None = None
    rejection_reason: LocalizedText | None = None
    note: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    completed_at: datetime | None = None
    cancel_cause: CancelCause | None = None
    history: tuple[TimelineEntry, ...] = ()
    version: int = 0

    @property
    def permit_id(self) -> str:
        return permit_id(self.permit.permit_number, self.permit.permit_year)

    @property
    def is_open(self) -> bool:
        return STATES[self.status].is_open


@dataclass(frozen=True)
class Change:
    """A decided change: the new request, the events it raises and the documents it issues
    (staged by the store in the same write)."""

    request: RenewalRequest
    events: tuple[Raised, ...] = ()
    documents: tuple[Due, ...] = ()


def _about(request: RenewalRequest) -> dict[str, object]:
    return {
        "request_number": request.request_number,
        "permit": request.permit,
        "applicant": request.applicant,
        "owner_subject": request.owner_subject,
    }


def payment_reference(request_number: str) -> str:
    return reference(SERVICE, request_number, FEE_PURPOSE)


def record_bill(request: RenewalRequest, reference: str, e_payment_number: str) -> Change | None:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the current fee, once; no event. None otherwise (a
    bill of an older fee, a request moved on, a redelivery)."""
    fee = request.fee
    if (
        request.status is not Status.AWAITING_PAYMENT
        or fee is None
        or fee.payment_reference != reference
        or fee.e_payment_number is not None
    ):
        return None
    fee = fee.model_copy(update={"e_payment_number": e_payment_number})
    return Change(request.model_copy(update={"fee": fee}))


def request_number_of(value: str) -> str | None:
    parts = reference_parts(value)
    return parts[1] if parts is not None and parts[::2] == (SERVICE, FEE_PURPOSE) else None


def submit(
    *,
    request_number: str,
    owner: Actor,
    contractor: Contractor,
    permit: Permit,
    reason: str,
    phone: str,
    lang: Literal["ar", "en"],
    now: datetime,
) -> Change:
    """Seed 001, step 2: submitted with a verified phone -> SMS with the request number."""
    check_renewable(permit)
    step = find_step(WORKFLOW, Action.SUBMIT, None)
    role = owner.role_for(step)
    request = RenewalRequest(
        request_number=request_number,
        owner_subject=owner.subject,
        permit=permit_ref(contractor, permit),
        reason=reason,
        applicant=Applicant(name=contractor.name.ar, phone=phone, lang=lang),
        status=Status(step.target),
        submitted_at=now,
        valid_to_before=permit.valid_to,
        history=(
            TimelineEntry(
                at=now,
                action=Action.SUBMIT,
                source=None,
                target=step.target,
                by=owner.subject,
                role=role,
            ),
        ),
    )
    event = RenewalSubmitted(**_about(request), reason=reason, submitted_at=now)
    return Change(request, (Raised("contractors.renewal.submitted.v1", event),))


def fee_description(request: RenewalRequest) -> LocalizedText:
    """What the bill is for (its SMS shows the first 30 letters)."""
    return LocalizedText(
        ar=f"تجديد تصريح مقاول {request.permit.permit_number}",
        en=f"Contractor permit renewal {request.permit.permit_number}",
    )


def approve(
    request: RenewalRequest,
    actor: Actor,
    now: datetime,
    *,
    fees: FeeSchedule,
    permit: Permit,
    payment_due_at: datetime,
    note: str | None,
) -> Change:
    """A reviewer approves. With a fee: payments is asked for it. Free: completed at once, the
    new validity computed from the permit as the registry holds it now."""
    fee = fees.fee_for(request.permit.classification, request.permit.category)
    if fee == 0:
        approved = moved(
            request,
            WORKFLOW,
            Action.APPROVE,
            actor,
            now,
            branch=Branch.FREE,
            why=note,
            fee_fils=0,
            note=note,
        )
        event = RenewalApproved(**_about(request), fee_fils=0, approved_at=now)
        completion = _completed(approved, permit, now, e_payment_number=None)
        return Change(
            completion.request,
            (Raised("contractors.renewal.approved.v1", event), *completion.events),
            completion.documents,
        )
    bill_reference = payment_reference(request.request_number)
    taken = moved(
        request,
        WORKFLOW,
        Action.APPROVE,
        actor,
        now,
        branch=Branch.FEE,
        why=note,
        fee_fils=fee,
        note=note,
        fee=Fee(payment_reference=bill_reference, amount_fils=fee, due_at=payment_due_at),
    )
    approved_event = RenewalApproved(
        **_about(request),
        fee_fils=fee,
        payment_reference=bill_reference,
        payment_due_at=payment_due_at,
        approved_at=now,
    )
    payment = PaymentRequested(
        payment_reference=bill_reference,
        request_number=request.request_number,
        amount_fils=fee,
        description=fee_description(request),
        due_at=payment_due_at,
        payer=request.applicant,
        service_type=SERVICE_TYPE,
        owner_subject=request.owner_subject,
    )
    return Change(
        taken,
        (
            Raised("contractors.renewal.approved.v1", approved_event),
            Raised("contractors.payment.requested.v1", payment),
        ),
    )


def reject(
    request: RenewalRequest, actor: Actor, now: datetime, *, reason: LocalizedText
) -> Change:
    taken = moved(
        request, WORKFLOW, Action.REJECT, actor, now, why=reason.en, rejection_reason=reason
    )
    event = RenewalRejected(**_about(request), reason=reason, rejected_at=now)
    return Change(taken, (Raised("contractors.renewal.rejected.v1", event),))


def _completed(
    request: RenewalRequest, permit: Permit, now: datetime, *, e_payment_number: str | None
) -> Change:
    """The renewal is complete: the new validity, for the request, the registry and the SMS,
    and the renewed permit's document.

    `request` is already in `completed` (the free branch) or is moved there (paid)."""
    valid_from, valid_to = new_validity(permit.valid_to, amman_date(now))
    request = request.model_copy(
        update={"valid_from": valid_from, "valid_to": valid_to, "completed_at": now}
    )
    event = RenewalCompleted(
        **_about(request),
        valid_from=valid_from,
        valid_to=valid_to,
        fee_fils=request.fee_fils or 0,
        e_payment_number=e_payment_number,
        completed_at=now,
    )
    document = renewed_permit(
        request_number=request.request_number,
        owner_subject=request.owner_subject,
        contractor_number=request.permit.contractor_number,
        contractor_name_ar=request.permit.contractor_name.ar,
        contractor_name_en=request.permit.contractor_name.en,
        permit_number=request.permit.permit_number,
        permit_year=request.permit.permit_year,
        classification=request.permit.classification,
        category=request.permit.category,
        valid_from=valid_from,
        valid_to=valid_to,
        fee_fils=request.fee_fils or 0,
        completed_at=now,
    )
    return Change(request, (Raised("contractors.renewal.completed.v1", event),), (document,))


@dataclass(frozen=True)
class PaymentMade:
    e_payment_number: str
    amount_fils: int
    paid_at: datetime


def record_payment(
    request: RenewalRequest, paid: PaymentMade, permit: Permit | None, now: datetime
) -> Change | None:
    """Paid -> completed with the new validity. Paid again changes nothing; paid after the
    request was cancelled -> the money is asked back, once."""
    if request.status is Status.CANCELLED and request.fee is not None:
        if request.fee.refund_requested_at is not None:
            return None
        return _refund_late_payment(request, paid, now)
    if request.status is not Status.AWAITING_PAYMENT or request.fee is None:
        return None
    fee = request.fee.model_copy(
        update={"e_payment_number": paid.e_payment_number, "paid_at": paid.paid_at}
    )
    if permit is None:
        raise NotAllowedNow(
            f"permit {request.permit.permit_number} is not in the registry",
            "التصريح غير موجود في السجل",
        )
    taken = moved(request, WORKFLOW, Action.PAY, system("payments"), now, fee=fee)
    return _completed(taken, permit, now, e_payment_number=paid.e_payment_number)


def _refund_late_payment(request: RenewalRequest, paid: PaymentMade, now: datetime) -> Change:
    assert request.fee is not None
    fee = request.fee.model_copy(
        update={
            "e_payment_number": paid.e_payment_number,
            "paid_at": paid.paid_at,
            "refund_requested_at": now,
        }
    )
    taken = moved(
        request,
        WORKFLOW,
        Action.REFUND_LATE_PAYMENT,
        system("payments"),
        now,
        why=f"e-payment number {paid.e_payment_number}",
        fee=fee,
    )
    refund = RefundRequested(
        payment_reference=request.fee.payment_reference,
        refund_reference=reference(SERVICE, request.request_number, LATE_PAYMENT_REFUND_PURPOSE),
        request_number=request.request_number,
        amount_fils=paid.amount_fils,
        reason=LocalizedText(
            ar="دُفعت رسوم التجديد بعد إلغاء الطلب",
            en="Renewal fee paid after the request was cancelled",
        ),
        needs_approval=False,
        payer=request.applicant,
    )
    return Change(taken, (Raised("contractors.refund.requested.v1", refund),))


def cancel_unpaid(request: RenewalRequest, now: datetime, cause: CancelCause) -> Change | None:
    """The bill expired (or was cancelled) unpaid: the renewal is cancelled, the applicant told;
    they may submit a new one (the permit is free for it again)."""
    if request.status is not Status.AWAITING_PAYMENT:
        return None
    action = Action.EXPIRE if cause == "payment_expired" else Action.CANCEL
    taken = moved(request, WORKFLOW, action, system("payments"), now, cancel_cause=cause)
    event = RenewalCancelled(
        **_about(request),
        cause=cause,
        payment_due_at=request.fee.due_at if request.fee else None,
        at=now,
    )
    return Change(taken, (Raised("contractors.renewal.cancelled.v1", event),))
