"""The exams contract: a request to hold an official or a trial exam (seed 004), and its sessions.

A citizen asks to sit an exam of the municipality's catalogue: an **official** exam (an accredited
certificate from an external granting body, held in a session once enough candidates have paid)
or a **trial** (commercial) exam, taken any time during working hours at a Knowledge Station.
The exams service publishes ``exams.request.*`` for each step of one candidate's request and
``exams.session.*`` for each step of an official exam session. Each request event carries the
applicant (for the notifier's SMS) and ``owner_subject`` (whose request it is), so a subscriber
acts without calling back. The fee travels on the payments contract:
``exams.payment.requested.v1`` with the reference ``exams:<request number>:fee``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import Applicant, ContractModel, Currency, Fils, LocalizedText, UtcDatetime
from contracts.registry import EventSpec

__all__ = [
    "SPECS",
    "ExamAbsenceRecorded",
    "ExamAttendanceRecorded",
    "ExamCentre",
    "ExamCertificateCollected",
    "ExamDetails",
    "ExamRequestCancelled",
    "ExamRequestPaid",
    "ExamRequestScheduled",
    "ExamRequestSubmitted",
    "ExamResultRecorded",
    "ExamSessionMinimumReached",
    "ExamSessionOverdue",
    "ExamSessionScheduled",
    "ExamType",
]

ExamType = Literal["official", "trial"]
"""official: an accredited certificate from an external granting body; trial: a commercial
(practice) exam held by the Knowledge Station itself."""

_REQUEST_NUMBER = Field(
    min_length=1, description="The human request number.", examples=["EX-2026-000123"]
)
_SESSION_NUMBER_DESCRIPTION = "The human number of the official exam session."
_OWNER = Field(
    min_length=1,
    description=(
        "The identity-provider subject (JWT sub) of the citizen who owns the request, so that "
        "they can see the SMS and the request in their own lists."
    ),
    examples=["citizen-9f3a"],
)


class ExamDetails(ContractModel):
    """Which exam, as the catalogue described it when the request was made."""

    code: str = Field(
        min_length=1, description="The exam's code in the catalogue.", examples=["icdl-documents"]
    )
    type: ExamType = Field(description="official (accredited certificate) or trial (commercial).")
    name: LocalizedText = Field(description="The exam's name.")
    subject: LocalizedText = Field(description="The exam's subject, which sets its fee.")
    granting_body: LocalizedText | None = Field(
        default=None,
        description="The external body that grants the certificate; official exams only.",
    )


class ExamCentre(ContractModel):
    """The Knowledge Station (or training centre) that holds the exam."""

    name: LocalizedText = Field(description="The centre's name and area.")
    working_hours: LocalizedText = Field(
        description="Its official working hours, as shown to applicants."
    )


# ---- the request -----------------------------------------------------------------------------


class ExamRequestSubmitted(ContractModel):
    """A request was confirmed: the fee is asked of payments (exams.payment.requested.v1)."""

    request_number: str = _REQUEST_NUMBER
    exam: ExamDetails = Field(description="The exam asked for.")
    centre: ExamCentre = Field(description="The centre that holds the exam.")
    fee_fils: Fils = Field(description="The exam's fee, in fils (1 JOD = 1000 fils).")
    currency: Currency = Field(default="JOD", description="Currency of the fee.")
    payment_reference: str = Field(
        min_length=1,
        description="The payments contract's reference of the fee.",
        examples=["exams:EX-2026-000123:fee"],
    )
    payment_due_at: UtcDatetime = Field(
        description="Last instant the fee can be paid; after it the request is cancelled."
    )
    submitted_at: UtcDatetime = Field(description="When the request was confirmed.")
    applicant: Applicant = Field(description="The candidate who will sit the exam.")
    owner_subject: str = _OWNER


class ExamRequestPaid(ContractModel):
    """The fee was paid. A trial candidate may now come any time during working hours; an
    official candidate joins the exam's open session, which waits for its minimum of candidates."""

    request_number: str = _REQUEST_NUMBER
    exam: ExamDetails = Field(description="The exam paid for.")
    centre: ExamCentre = Field(
        description="Where a trial candidate comes to sit the exam, or the centre that "
        "coordinates an official session."
    )
    e_payment_number: str = Field(min_length=1, description="The e-payment number paid.")
    amount_fils: Fils = Field(description="Amount paid, in fils.")
    paid_at: UtcDatetime = Field(description="When the payment was made.")
    session_minimum: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Paid candidates an official session needs before its date is set; official exams "
            "only (the candidate joins the exam's open session right after this event)."
        ),
    )
    applicant: Applicant = Field(description="The candidate.")
    owner_subject: str = _OWNER


class ExamRequestScheduled(ContractModel):
    """The official exam's date was set: the candidate is told when, where, and what to bring."""

    request_number: str = _REQUEST_NUMBER
    session_number: str = Field(min_length=1, description=_SESSION_NUMBER_DESCRIPTION)
    exam: ExamDetails = Field(description="The exam.")
    exam_at: UtcDatetime = Field(description="When the exam starts.")
    venue: LocalizedText = Field(description="Where the exam is held.")
    documents: LocalizedText = Field(description="The identity documents the candidate must bring.")
    applicant: Applicant = Field(description="The candidate.")
    owner_subject: str = _OWNER


class ExamAttendanceRecorded(ContractModel):
    """Staff recorded that the candidate sat the exam; the result follows."""

    request_number: str = _REQUEST_NUMBER
    exam: ExamDetails = Field(description="The exam sat.")
    session_number: str | None = Field(
        default=None, description=f"{_SESSION_NUMBER_DESCRIPTION} Official exams only."
    )
    at: UtcDatetime = Field(description="When the attendance was recorded.")
    applicant: Applicant = Field(description="The candidate.")
    owner_subject: str = _OWNER


class ExamAbsenceRecorded(ContractModel):
    """The candidate did not come to the official session on its date; the request is closed."""

    request_number: str = _REQUEST_NUMBER
    session_number: str = Field(min_length=1, description=_SESSION_NUMBER_DESCRIPTION)
    exam: ExamDetails = Field(description="The exam missed.")
    exam_at: UtcDatetime = Field(description="When the exam was held.")
    at: UtcDatetime = Field(description="When the absence was recorded.")
    applicant: Applicant = Field(description="The candidate.")
    owner_subject: str = _OWNER


class ExamResultRecorded(ContractModel):
    """Staff recorded the reviewed result. Passed: the certificate is ready for collection."""

    request_number: str = _REQUEST_NUMBER
    exam: ExamDetails = Field(description="The exam sat.")
    outcome: Literal["passed", "failed"] = Field(description="The result.")
    score: int | None = Field(
        default=None, ge=0, le=100, description="The mark out of 100, when there is one."
    )
    centre: ExamCentre = Field(description="Where the certificate is collected.")
    documents: LocalizedText = Field(
        description="The identity documents to bring to collect the certificate."
    )
    recorded_at: UtcDatetime = Field(description="When the result was recorded.")
    applicant: Applicant = Field(description="The candidate.")
    owner_subject: str = _OWNER


class ExamCertificateCollected(ContractModel):
    """The certificate was handed over at the centre; the request is complete."""

    request_number: str = _REQUEST_NUMBER
    exam: ExamDetails = Field(description="The exam passed.")
    collected_at: UtcDatetime = Field(description="When the certificate was handed over.")
    collected_by: str = Field(
        min_length=1,
        description="Who received it: the candidate, or a delegate named by staff.",
    )
    applicant: Applicant = Field(description="The candidate.")
    owner_subject: str = _OWNER


class ExamRequestCancelled(ContractModel):
    """The request was cancelled before it was paid."""

    request_number: str = _REQUEST_NUMBER
    exam: ExamDetails = Field(description="The exam the request was for.")
    cause: Literal["payment_expired", "withdrawn", "bill_cancelled"] = Field(
        description=(
            "payment_expired: the fee was not paid by its due time; withdrawn: the applicant "
            "withdrew the request; bill_cancelled: payments cancelled the unpaid bill."
        )
    )
    payment_due_at: UtcDatetime = Field(description="The fee's due time.")
    at: UtcDatetime = Field(description="When the request was cancelled.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


# ---- the official session --------------------------------------------------------------------


class ExamSessionMinimumReached(ContractModel):
    """An official session has its minimum of paid candidates: the Knowledge Station now agrees
    a date with the granting body, within one working week (seed 004)."""

    session_number: str = Field(min_length=1, description=_SESSION_NUMBER_DESCRIPTION)
    exam: ExamDetails = Field(description="The session's exam.")
    minimum: int = Field(ge=1, description="The minimum number of candidates.")
    candidates: int = Field(ge=1, description="Paid candidates in the session now.")
    minimum_reached_at: UtcDatetime = Field(description="When the minimum was reached.")
    date_due_at: UtcDatetime = Field(
        description="The date must be set before this instant (end of the fifth working day)."
    )


class ExamSessionScheduled(ContractModel):
    """A coordinator set the official session's date; each candidate's request follows."""

    session_number: str = Field(min_length=1, description=_SESSION_NUMBER_DESCRIPTION)
    exam: ExamDetails = Field(description="The session's exam.")
    exam_at: UtcDatetime = Field(description="When the exam starts.")
    venue: LocalizedText = Field(description="Where the exam is held.")
    candidates: list[str] = Field(
        min_length=1, description="The request numbers of the session's candidates."
    )
    scheduled_at: UtcDatetime = Field(description="When the date was set.")
    was_overdue: bool = Field(
        default=False, description="True if the date was set after its one-working-week deadline."
    )


class ExamSessionOverdue(ContractModel):
    """An official session's date was not set within one working week of reaching its minimum."""

    session_number: str = Field(min_length=1, description=_SESSION_NUMBER_DESCRIPTION)
    exam: ExamDetails = Field(description="The session's exam.")
    candidates: int = Field(ge=1, description="Paid candidates waiting for a date.")
    minimum_reached_at: UtcDatetime = Field(description="When the minimum was reached.")
    date_due_at: UtcDatetime = Field(description="The deadline that passed.")


# ---- the event types -------------------------------------------------------------------------

SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key="exams.request.submitted.v1",
        data_model=ExamRequestSubmitted,
        producer="exams",
        summary="A request to sit an exam was confirmed; its fee is asked of payments.",
        # Seed 004, step 1: the SMS on confirmation is the e-payment number.
        silent_because=(
            "the applicant's SMS is the e-payment number, sent for payments.bill.issued.v1"
        ),
    ),
    EventSpec(
        routing_key="exams.request.paid.v1",
        data_model=ExamRequestPaid,
        producer="exams",
        summary="An exam's fee was paid: a trial candidate may come any time during working "
        "hours; an official candidate waits for the session's minimum.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="exams.request.scheduled.v1",
        data_model=ExamRequestScheduled,
        producer="exams",
        summary="An official exam's date was set: when, where and the identity documents to bring.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="exams.request.attendance_recorded.v1",
        data_model=ExamAttendanceRecorded,
        producer="exams",
        summary="The candidate sat the exam; the result follows.",
        silent_because="the candidate is at the centre when staff record it",
    ),
    EventSpec(
        routing_key="exams.request.absence_recorded.v1",
        data_model=ExamAbsenceRecorded,
        producer="exams",
        summary="The candidate did not come to the official session on its date.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="exams.request.result_recorded.v1",
        data_model=ExamResultRecorded,
        producer="exams",
        summary="The exam's result was recorded: passed (certificate ready for collection) or "
        "failed.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="exams.request.certificate_collected.v1",
        data_model=ExamCertificateCollected,
        producer="exams",
        summary="The certificate was handed over; the request is complete.",
        silent_because="the certificate is handed over in person at the centre",
    ),
    EventSpec(
        routing_key="exams.request.cancelled.v1",
        data_model=ExamRequestCancelled,
        producer="exams",
        summary="An unpaid exam request was cancelled (fee not paid in time, or withdrawn).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="exams.session.minimum_reached.v1",
        data_model=ExamSessionMinimumReached,
        producer="exams",
        summary="An official exam session reached its minimum of paid candidates; its date is "
        "due within one working week.",
    ),
    EventSpec(
        routing_key="exams.session.scheduled.v1",
        data_model=ExamSessionScheduled,
        producer="exams",
        summary="An official exam session's date and place were set.",
    ),
    EventSpec(
        routing_key="exams.session.overdue.v1",
        data_model=ExamSessionOverdue,
        producer="exams",
        summary="An official exam session's date was not set within one working week of "
        "reaching its minimum.",
    ),
)
"""Every event type the exams service publishes besides its payments-contract events."""
