"""The fee: billed through payments when the committee approves (step 8) or the applicant asks
for a new e-payment number, its bill recorded, paid (step 9: the licence is issued) or expired;
a payment that arrives after a withdrawal goes back.

The moves reacting to payments' events return None when there is nothing to do (a redelivery, a
bill that is not the request's current one, a state that moved on), so that what happens in
normal running is never a refusal (a refusal of an event is dead-lettered).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from contracts import LocalizedText, PaymentRequested, reference, reference_parts
from contracts.licensing import LicenceIssued, PaymentExpired
from contracts.payments import RefundRequested
from services.common.calendar import WorkingCalendar
from services.common.errors import NotAllowedNow
from services.common.workflow import Actor, Raised, system
from services.licensing.domain.licence import licence_document
from services.licensing.domain.moves import advance
from services.licensing.domain.request import Change, Licence, LicenceRequest
from services.licensing.domain.workflow import PAYMENTS, SERVICE, RequestAction, RequestStatus

S = RequestStatus
A = RequestAction

FEE = "fee"
LATE_PAYMENT_REFUND = "late_payment_refund"


def payment_reference(number: str, bill: int) -> str:
    """The reference of a request's `bill`-th bill: `licensing:<number>:fee`, then `fee-2`..."""
    return reference(SERVICE, number, FEE if bill == 1 else f"{FEE}-{bill}")


def request_number_of(value: str) -> str | None:
    """The request number a reference of this service names, else None (another service's)."""
    parts = reference_parts(value)
    return parts[1] if parts is not None and parts[0] == SERVICE else None


@dataclass(frozen=True)
class Bill:
    """A new bill: its event, the request's count of bills and its reference."""

    event: Raised
    bills: int
    payment_reference: str


def new_bill(request: LicenceRequest, due_at: datetime) -> Bill:
    bill = request.bills + 1
    fee_reference = payment_reference(request.number, bill)
    payment = PaymentRequested(
        payment_reference=fee_reference,
        request_number=request.number,
        amount_fils=request.fee_fils,
        description=LocalizedText(
            ar=f"رسوم رخصة مهن: {request.profession.ar}"[:200],
            en=f"Professional licence fee: {request.profession.en}"[:200],
        ),
        due_at=due_at,
        payer=request.applicant,
        service_type="licensing.licence_fee",
        owner_subject=request.owner_subject,
    )
    return Bill(Raised("licensing.payment.requested.v1", payment), bill, fee_reference)


def record_bill(
    request: LicenceRequest, reference: str, e_payment_number: str, amount_fils: int,
    due_at: datetime,
) -> Change | None:  # fmt: skip
    """Payments issued the fee's bill: keep its number, amount and due time, so the inquiry shows
    them while the fee waits (an SMS can be lost). Only the current bill, once; no event."""
    if (
        request.status is not RequestStatus.AWAITING_PAYMENT
        or request.payment_reference != reference
        or request.e_payment_number is not None
    ):
        return None
    return Change(
        request.model_copy(
            update={
                "e_payment_number": e_payment_number,
                "bill_amount_fils": amount_fils,
                "bill_due_at": due_at,
            }
        )
    )


def end_of_year(calendar: WorkingCalendar, now: datetime) -> datetime:
    """Municipal professional licences are annual: valid to 31 December (Amman) of the year."""
    zone = ZoneInfo(calendar.tz)
    year = now.astimezone(zone).year
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=zone).astimezone(UTC)


def is_payable(request: LicenceRequest, reference: str) -> bool:
    """Whether paying the bill `reference` issues the licence: the request's current bill."""
    return request.status is S.AWAITING_PAYMENT and reference == request.payment_reference


def pay(
    request: LicenceRequest,
    reference: str,
    e_payment_number: str,
    amount_fils: int,
    licence_number: str,
    token: str,
    verification_url: str,
    now: datetime,
    calendar: WorkingCalendar,
) -> Change | None:
    """Step 9: the bill was paid: the licence is issued, and its PDF with it (staged in the same
    write). None: nothing to do (a redelivery, or a bill that is not the current one). Paid
    after a withdrawal: the money goes back."""
    if is_payable(request, reference):
        licence = Licence(
            number=licence_number,
            token=token,
            issued_at=now,
            valid_until=end_of_year(calendar, now),
            e_payment_number=e_payment_number,
        )
        document = licence_document(request, licence)
        licence = licence.model_copy(
            update={"document_id": document.id, "verification_id": document.verification_id}
        )
        event = LicenceIssued.model_validate(
            {
                **request._base(),
                "licence_number": licence.number,
                "issued_at": now,
                "valid_until": licence.valid_until,
                "verification_url": verification_url,
                "e_payment_number": e_payment_number,
            }
        )
        issued = advance(
            request, A.PAY, system(PAYMENTS), now, calendar,
            Raised("licensing.licence.issued.v1", event),
            why=e_payment_number, licence=licence, e_payment_number=e_payment_number,
        )  # fmt: skip
        return replace(issued, documents=(document,))
    if request.status is S.WITHDRAWN and not request.is_refund_requested:
        refund = RefundRequested(
            payment_reference=reference,
            refund_reference=reference_of_refund(request.number),
            request_number=request.number,
            amount_fils=amount_fils,
            reason=LocalizedText(
                ar="دُفعت الرسوم بعد سحب طلب الرخصة",
                en="The fee was paid after the licence request was withdrawn",
            ),
            needs_approval=False,
            payer=request.applicant,
        )
        updated = request.model_copy(update={"is_refund_requested": True})
        return Change(updated, (Raised("licensing.refund.requested.v1", refund),))
    return None


def reference_of_refund(number: str) -> str:
    return reference(SERVICE, number, LATE_PAYMENT_REFUND)


def expire_bill(
    request: LicenceRequest,
    reference: str,
    e_payment_number: str,
    now: datetime,
    calendar: WorkingCalendar,
) -> Change | None:
    """The current bill expired (or was cancelled by payments) unpaid. None: nothing to do."""
    if not is_payable(request, reference):
        return None
    event = PaymentExpired.model_validate(
        {**request._base(), "e_payment_number": e_payment_number, "at": now}
    )
    return advance(
        request, A.EXPIRE_BILL, system(PAYMENTS), now, calendar,
        Raised("licensing.request.payment_expired.v1", event), why=e_payment_number,
    )  # fmt: skip


def request_new_bill(
    request: LicenceRequest,
    payment_due_at: datetime,
    now: datetime,
    actor: Actor,
    calendar: WorkingCalendar,
) -> Change:
    """The applicant asks for a new e-payment number after one expired."""
    if request.status is not S.PAYMENT_EXPIRED:
        raise NotAllowedNow(
            "A new e-payment number is given only after the last one expired.",
            "يُصدر رقم دفع جديد فقط بعد انتهاء صلاحية الرقم السابق.",
        )
    bill = new_bill(request, payment_due_at)
    return advance(
        request, A.REQUEST_NEW_BILL, actor, now, calendar, bill.event,
        bills=bill.bills, payment_reference=bill.payment_reference, e_payment_number=None,
    )  # fmt: skip
