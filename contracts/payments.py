"""The payments contract: how a service asks for money, and how payments answers.

DESIGN.md, "Payments contract". A requesting service publishes
``<service>.payment.requested.v1`` with a payment reference it chooses
(``<service>:<request number>:<purpose>``, e.g. ``exams:EX-2026-000123:fee``). Payments issues
one bill per reference and publishes ``payments.bill.issued.v1`` (the notifier SMSes the
e-payment number), then exactly one of ``payments.bill.paid.v1``, ``payments.bill.expired.v1``
or ``payments.bill.cancelled.v1``. The requesting service binds ``payments.bill.*.v1`` and acts
on the bills whose reference starts with its own name. Refunds go the same way:
``<service>.refund.requested.v1``, answered by ``payments.refund.approved.v1`` or
``payments.refund.rejected.v1``.
"""

from __future__ import annotations

from pydantic import Field

from contracts.common import (
    Applicant,
    ContractModel,
    Currency,
    Fils,
    LocalizedText,
    Reference,
    UtcDatetime,
)
from contracts.registry import EventSpec

__all__ = [
    "REQUESTING_SERVICES",
    "SPECS",
    "BillCancelled",
    "BillExpired",
    "BillIssued",
    "BillPaid",
    "PaymentCancelled",
    "PaymentRequested",
    "RefundApproved",
    "RefundRejected",
    "RefundRequested",
]

REQUESTING_SERVICES: tuple[str, ...] = ("licensing", "contractors", "courses", "training", "exams")
"""The municipal services that ask payments for money."""

_E_PAYMENT_NUMBER = r"^[0-9]+$"


# ---- published by the requesting services ---------------------------------------------------


class PaymentRequested(ContractModel):
    """A service asks for a bill. Payments issues exactly one bill per payment reference."""

    payment_reference: Reference = Field(
        description=(
            "The requesting service's unique key for this payment, "
            "<service>:<request number>:<purpose>; a repeated request with the same reference "
            "is the same bill."
        ),
        examples=["exams:EX-2026-000123:fee"],
    )
    request_number: str = Field(
        min_length=1,
        description="The human request number the payment is for.",
        examples=["EX-2026-000123"],
    )
    # gt=0, not ge=0: a free step publishes no payment request at all (contractors' fee may be 0).
    amount_fils: Fils = Field(gt=0, description="Amount to bill, in fils (1 JOD = 1000 fils).")
    currency: Currency = Field(default="JOD", description="Currency of the amount.")
    description: LocalizedText = Field(
        description="What the bill is for, shown to the payer and sent in the SMS."
    )
    due_at: UtcDatetime = Field(
        description="Last instant the bill can be paid; after it the bill expires."
    )
    payer: Applicant = Field(description="Who pays: the applicant of the request.")
    service_type: str = Field(
        min_length=1,
        description=(
            "The fee kind, a code the biller maps to its service type in the e-bill system "
            "(e.g. licensing.licence_fee, training.gis_course)."
        ),
        examples=["exams.exam_fee"],
    )
    owner_subject: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "The identity-provider subject (JWT sub) of the citizen who owns the request, so that "
            "they can see the bill in their own list; absent when staff made the request on "
            "someone's behalf."
        ),
        examples=["citizen-9f3a"],
    )


class PaymentCancelled(ContractModel):
    """A service withdraws a payment request it no longer needs (e.g. the request was cancelled).

    Payments cancels the bill if it is still unpaid and answers with payments.bill.cancelled.v1;
    if it was paid meanwhile, payments.bill.paid.v1 stands and the service asks for a refund.
    """

    payment_reference: Reference = Field(
        description="The reference of the payment request to withdraw.",
        examples=["exams:EX-2026-000123:fee"],
    )
    request_number: str = Field(
        min_length=1, description="The human request number the payment was for."
    )
    reason: str = Field(min_length=1, description="Why, for the audit trail (staff-facing).")


class RefundRequested(ContractModel):
    """A service asks payments to give back all or part of a paid bill."""

    payment_reference: Reference = Field(
        description="The reference of the paid bill to refund.",
        examples=["training:TR-2026-000045:fee"],
    )
    refund_reference: Reference = Field(
        description=(
            "The requesting service's unique key for this refund, "
            "<service>:<request number>:<purpose>; payments refunds once per reference."
        ),
        examples=["training:TR-2026-000045:no_show_refund"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    amount_fils: Fils = Field(
        gt=0, description="Amount to give back, in fils; at most the amount paid."
    )
    currency: Currency = Field(default="JOD", description="Currency of the amount.")
    reason: LocalizedText = Field(description="Why the money is refunded, shown to the payer.")
    needs_approval: bool = Field(
        description=(
            "True if a finance employee must approve the refund first (seed 003, step 6: the "
            "refund after a second no-show needs senior-management approval)."
        )
    )
    payer: Applicant = Field(description="Who receives the refund: the payer of the bill.")


# ---- published by payments -------------------------------------------------------------------


class BillIssued(ContractModel):
    """Payments issued the bill of a payment request: it can be paid by its e-payment number."""

    payment_reference: Reference = Field(
        description="The reference of the payment request this bill answers.",
        examples=["exams:EX-2026-000123:fee"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    e_payment_number: str = Field(
        pattern=_E_PAYMENT_NUMBER,
        description=(
            "The number the payer pays with (eFAWATEERcom billing number, with check digit)."
        ),
        examples=["2026000123457"],
    )
    amount_fils: Fils = Field(description="Amount due, in fils (1 JOD = 1000 fils).")
    currency: Currency = Field(default="JOD", description="Currency of the amount.")
    due_at: UtcDatetime = Field(description="Last instant the bill can be paid.")
    description: LocalizedText = Field(description="What the bill is for.")
    applicant: Applicant = Field(description="The payer, to receive the e-payment number by SMS.")
    biller_code: str | None = Field(
        default=None,
        description=(
            "The municipality's biller code in the e-bill system: with the e-payment number, "
            "what the payer enters in a bank or payment app."
        ),
        examples=["106"],
    )


class BillPaid(ContractModel):
    """The payment provider confirmed the bill was paid in full."""

    payment_reference: Reference = Field(
        description="The reference of the payment request this bill answers.",
        examples=["exams:EX-2026-000123:fee"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    e_payment_number: str = Field(
        pattern=_E_PAYMENT_NUMBER, description="The e-payment number of the bill."
    )
    amount_fils: Fils = Field(description="Amount paid, in fils; equal to the amount billed.")
    currency: Currency = Field(default="JOD", description="Currency of the amount.")
    paid_at: UtcDatetime = Field(description="When the provider says the payment was made.")
    applicant: Applicant = Field(description="The payer.")
    provider: str | None = Field(
        default=None,
        description="The payment provider that notified the payment.",
        examples=["efawateercom"],
    )
    provider_transaction_id: str | None = Field(
        default=None,
        description=(
            "The provider's transaction id (eFAWATEERcom's JOEBPPSTrx): the receipt reference "
            "for reconciliation."
        ),
    )


class BillExpired(ContractModel):
    """The bill's due time passed unpaid; it can no longer be paid."""

    payment_reference: Reference = Field(
        description="The reference of the payment request this bill answered.",
        examples=["exams:EX-2026-000123:fee"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    e_payment_number: str = Field(
        pattern=_E_PAYMENT_NUMBER, description="The e-payment number of the bill."
    )
    at: UtcDatetime = Field(description="When the bill expired.")
    applicant: Applicant = Field(description="The payer.")


class BillCancelled(ContractModel):
    """The bill was cancelled unpaid, as the requesting service asked; it can no longer be paid."""

    payment_reference: Reference = Field(
        description="The reference of the payment request this bill answered.",
        examples=["exams:EX-2026-000123:fee"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    e_payment_number: str = Field(
        pattern=_E_PAYMENT_NUMBER, description="The e-payment number of the bill."
    )
    at: UtcDatetime = Field(description="When the bill was cancelled.")
    applicant: Applicant = Field(description="The payer.")


class RefundApproved(ContractModel):
    """The refund was approved (or needed no approval) and the money is on its way back."""

    refund_reference: Reference = Field(
        description="The reference of the refund request.",
        examples=["training:TR-2026-000045:no_show_refund"],
    )
    payment_reference: Reference = Field(
        description="The reference of the refunded bill.",
        examples=["training:TR-2026-000045:fee"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    amount_fils: Fils = Field(description="Amount refunded, in fils.")
    currency: Currency = Field(default="JOD", description="Currency of the amount.")
    decided_by_role: str = Field(
        min_length=1,
        description=(
            "Role of the employee who approved, e.g. finance.approver; 'system' when the refund "
            "needed no approval."
        ),
        examples=["finance.approver"],
    )
    reason: str | None = Field(default=None, description="The approver's note, if any.")
    applicant: Applicant = Field(description="The payer, who receives the refund.")


class RefundRejected(ContractModel):
    """A finance employee rejected the refund: no money is given back."""

    refund_reference: Reference = Field(
        description="The reference of the refund request.",
        examples=["training:TR-2026-000045:no_show_refund"],
    )
    payment_reference: Reference = Field(
        description="The reference of the bill whose refund was asked.",
        examples=["training:TR-2026-000045:fee"],
    )
    request_number: str = Field(min_length=1, description="The human request number.")
    amount_fils: Fils = Field(description="Amount that was asked for, in fils.")
    currency: Currency = Field(default="JOD", description="Currency of the amount.")
    decided_by_role: str = Field(
        min_length=1,
        description="Role of the employee who rejected, e.g. finance.approver.",
        examples=["finance.approver"],
    )
    reason: str | None = Field(default=None, description="Why it was rejected, if given.")
    applicant: Applicant = Field(description="The payer, who asked for the refund.")


# ---- the event types -------------------------------------------------------------------------

_TO_PAYMENTS = "payments issues the bill and its own payments.bill.issued.v1 carries the SMS"


def _requesting_service_specs(service: str) -> tuple[EventSpec, ...]:
    return (
        EventSpec(
            routing_key=f"{service}.payment.requested.v1",
            data_model=PaymentRequested,
            producer=service,
            summary=f"The {service} service asks payments to bill the applicant for a request.",
            silent_because=_TO_PAYMENTS,
        ),
        EventSpec(
            routing_key=f"{service}.payment.cancelled.v1",
            data_model=PaymentCancelled,
            producer=service,
            summary=f"The {service} service withdraws a payment request it no longer needs.",
        ),
        EventSpec(
            routing_key=f"{service}.refund.requested.v1",
            data_model=RefundRequested,
            producer=service,
            summary=f"The {service} service asks payments to refund all or part of a paid bill.",
            silent_because=(
                "payments answers with payments.refund.approved.v1 or .rejected.v1, which notify"
            ),
        ),
    )


_REQUESTER_ACTS = "the requesting service acts on it and sends its own, more specific SMS"

SPECS: tuple[EventSpec, ...] = (
    *(spec for service in REQUESTING_SERVICES for spec in _requesting_service_specs(service)),
    EventSpec(
        routing_key="payments.bill.issued.v1",
        data_model=BillIssued,
        producer="payments",
        summary="A bill was issued for a payment request; the applicant can pay it by its "
        "e-payment number.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="payments.bill.paid.v1",
        data_model=BillPaid,
        producer="payments",
        summary="A bill was paid in full.",
        # e.g. seed 000 step 9 (licence link), seed 002 (booking confirmed), seed 004 step 2.
        silent_because=_REQUESTER_ACTS,
    ),
    EventSpec(
        routing_key="payments.bill.expired.v1",
        data_model=BillExpired,
        producer="payments",
        summary="A bill passed its due time unpaid.",
        # e.g. seed 003 step 3: training cancels the request and says so.
        silent_because=_REQUESTER_ACTS,
    ),
    EventSpec(
        routing_key="payments.bill.cancelled.v1",
        data_model=BillCancelled,
        producer="payments",
        summary="An unpaid bill was cancelled at the requesting service's request.",
        silent_because="the requesting service withdrew it and tells the applicant why",
    ),
    EventSpec(
        routing_key="payments.refund.approved.v1",
        data_model=RefundApproved,
        producer="payments",
        summary="A refund was approved (or needed no approval) and is paid back.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="payments.refund.rejected.v1",
        data_model=RefundRejected,
        producer="payments",
        summary="A finance employee rejected a refund.",
        notifies_applicant=True,
    ),
)
"""Every event type of the payments contract, registered by `contracts/__init__.py`."""
