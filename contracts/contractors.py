"""The contractors contract: renewal of a contractor's permit (seed 001).

The contractors service owns the registry of contractors and their permits. A citizen finds the
permit (contractor number, permit number, permit year), confirms a phone with a one-time code
(sent with the notifier's ``notifier.sms.send`` command, never on this exchange) and submits a
renewal; staff approve or reject it; the fee, when the contractor's classification has one, is
asked of payments (``contractors.payment.requested.v1``, reference
``contractors:<request number>:fee``); paid or free, the permit's new validity is written to the
registry. Each renewal event carries the applicant (for the notifier's SMS) and
``owner_subject`` (whose request it is).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.common import Applicant, ContractModel, Fils, LocalizedText, UtcDatetime
from contracts.registry import EventSpec

__all__ = [
    "SPECS",
    "PermitRef",
    "RenewalApproved",
    "RenewalCancelled",
    "RenewalCompleted",
    "RenewalRejected",
    "RenewalSubmitted",
]

_REQUEST_NUMBER = Field(
    min_length=1, description="The human request number.", examples=["CP-2026-000123"]
)
_OWNER = Field(
    min_length=1,
    description="The identity-provider subject (JWT sub) of the citizen who owns the request.",
    examples=["citizen-9f3a"],
)


class PermitRef(ContractModel):
    """Which permit of which contractor the renewal is about."""

    contractor_number: str = Field(
        min_length=1, description="The contractor's number in the registry.", examples=["C-10234"]
    )
    contractor_name: LocalizedText = Field(description="The contractor's registered name.")
    permit_number: str = Field(
        min_length=1, description="The permit's number.", examples=["P-2025-0456"]
    )
    permit_year: int = Field(ge=1950, le=2200, description="The permit's year.")
    classification: str = Field(
        min_length=1,
        description="The contractor's classification (its fee group).",
        examples=["buildings"],
    )
    category: str = Field(
        min_length=1, description="The contractor's category within it.", examples=["3"]
    )


class RenewalSubmitted(ContractModel):
    """A renewal was submitted with a verified phone: the applicant gets the request number."""

    request_number: str = _REQUEST_NUMBER
    permit: PermitRef = Field(description="The permit to renew.")
    reason: str = Field(min_length=1, description="The renewal reason the applicant gave.")
    submitted_at: UtcDatetime = Field(description="When it was submitted.")
    applicant: Applicant = Field(description="The applicant, at the verified phone.")
    owner_subject: str = _OWNER


class RenewalApproved(ContractModel):
    """A reviewer approved the renewal. With a fee, payments is asked for it
    (contractors.payment.requested.v1); without one the renewal completes at once."""

    request_number: str = _REQUEST_NUMBER
    permit: PermitRef = Field(description="The permit renewed.")
    fee_fils: Fils = Field(description="The renewal fee, in fils; 0 when free.")
    payment_reference: str | None = Field(
        default=None,
        description="The payments reference of the fee; none when free.",
        examples=["contractors:CP-2026-000123:fee"],
    )
    payment_due_at: UtcDatetime | None = Field(
        default=None, description="Last instant the fee can be paid; none when free."
    )
    approved_at: UtcDatetime = Field(description="When it was approved.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class RenewalRejected(ContractModel):
    """A reviewer rejected the renewal, with the reason in Arabic and English."""

    request_number: str = _REQUEST_NUMBER
    permit: PermitRef = Field(description="The permit.")
    reason: LocalizedText = Field(description="Why it was rejected, shown to the applicant.")
    rejected_at: UtcDatetime = Field(description="When it was rejected.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class RenewalCompleted(ContractModel):
    """The renewal is complete (fee paid, or free): the permit's new validity is in the registry."""

    request_number: str = _REQUEST_NUMBER
    permit: PermitRef = Field(description="The permit renewed.")
    valid_from: date = Field(description="First day of the new validity (Amman).")
    valid_to: date = Field(description="Last day of the new validity (Amman).")
    fee_fils: Fils = Field(description="The fee paid, in fils; 0 when free.")
    e_payment_number: str | None = Field(
        default=None, description="The e-payment number paid; none when free."
    )
    completed_at: UtcDatetime = Field(description="When it completed.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class RenewalCancelled(ContractModel):
    """An approved renewal was cancelled because its fee was not paid (the bill expired) or its
    bill was cancelled. The applicant may submit a new renewal."""

    request_number: str = _REQUEST_NUMBER
    permit: PermitRef = Field(description="The permit.")
    cause: Literal["payment_expired", "bill_cancelled"] = Field(
        description="payment_expired: not paid by the due time; bill_cancelled: payments "
        "cancelled the bill."
    )
    payment_due_at: UtcDatetime | None = Field(default=None, description="The fee's due time.")
    at: UtcDatetime = Field(description="When it was cancelled.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key="contractors.renewal.submitted.v1",
        data_model=RenewalSubmitted,
        producer="contractors",
        summary="A permit renewal was submitted with a verified phone; it awaits review.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="contractors.renewal.approved.v1",
        data_model=RenewalApproved,
        producer="contractors",
        summary="A permit renewal was approved; its fee is asked of payments, or it completes "
        "at once when free.",
        silent_because=(
            "the applicant's SMS is the e-payment number (payments.bill.issued.v1) or, for a "
            "free renewal, the completion SMS that follows at once"
        ),
    ),
    EventSpec(
        routing_key="contractors.renewal.rejected.v1",
        data_model=RenewalRejected,
        producer="contractors",
        summary="A permit renewal was rejected, with the reason.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="contractors.renewal.completed.v1",
        data_model=RenewalCompleted,
        producer="contractors",
        summary="A permit renewal completed: the permit's new validity is in the registry.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="contractors.renewal.cancelled.v1",
        data_model=RenewalCancelled,
        producer="contractors",
        summary="An approved renewal was cancelled: its fee was not paid in time, or its bill "
        "was cancelled.",
        notifies_applicant=True,
    ),
)
"""Every event type the contractors service publishes besides its payments-contract events."""
