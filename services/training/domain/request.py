"""The aggregate: a training request, its attachment, and what a change of it consists of.

Deadlines live in one field, `due_at`, whose meaning follows the state: the correction deadline
(awaiting correction), the last day to choose a postponed date (postponement offered) or the end
of the period (approved, attending, postponed). The unpaid fee is not ours to time: payments
expires the bill after its due date and `payments.bill.expired.v1` cancels the request, once,
because only a request still awaiting payment moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from contracts import Applicant, LocalizedText, reference
from contracts.training import TrainingDetails
from services.common.documents.model import Due
from services.common.workflow import Raised, TimelineEntry
from services.training.domain.application import Application, AttachmentKind, Record
from services.training.domain.workflow import SERVICE, Status


class Attachment(Record):
    """The uploaded document, in the service's GridFS bucket, checked by its bytes and size."""

    file_id: str
    kind: AttachmentKind
    content_type: str
    size: int
    filename: str
    uploaded_at: datetime


class TrainingRequest(Record):
    number: str
    owner_subject: str
    applicant: Applicant
    application: Application
    status: Status = Status.UNDER_REVIEW
    version: int = 1
    created_at: datetime
    attachment: Attachment
    attachment_note: LocalizedText | None = None
    # The review's SLA clock: started at submission and again at a correction.
    review_started_at: datetime | None = None
    review_due_at: datetime | None = None
    # The state's deadline (see the module docstring).
    due_at: datetime | None = None
    payment_reference: str | None = None
    payment_due_at: datetime | None = None
    e_payment_number: str | None = None
    paid_at: datetime | None = None
    is_postponed: bool = False
    original_start_date: date | None = None
    latest_start_date: date | None = None
    rejection_reasons: LocalizedText | None = None
    cancel_reason: LocalizedText | None = None
    withheld_fils: int = 0
    refund_fils: int = 0
    refund_reference: str | None = None
    refund_status: str | None = None
    # The documents this request gave (their ids: the records at `/v1/documents/{id}`): the
    # current version of the approval letter, and the completion letter.
    approval_letter_id: str | None = None
    completion_letter_id: str | None = None
    history: tuple[TimelineEntry, ...] = ()

    @property
    def is_paid_training(self) -> bool:
        return self.application.fee_fils > 0

    def details(self) -> TrainingDetails:
        app = self.application
        return TrainingDetails(
            kind=app.kind.value,
            department_code=app.department_code,
            department=app.department,
            start_date=app.start_date,
            end_date=app.end_date,
            study_subject=app.study_subject,
            course=app.course,
            fee_fils=app.fee_fils,
        )


@dataclass(frozen=True)
class Change:
    """A request's new value (its timeline one line longer), the events it raises and the
    documents it issues or revokes, which the store writes in one single-document update guarded
    by the version."""

    request: TrainingRequest
    events: tuple[Raised, ...] = ()
    documents: tuple[Due, ...] = ()


def about(request: TrainingRequest) -> dict[str, object]:
    """The fields every event about a request carries."""
    return {
        "request_number": request.number,
        "details": request.details(),
        "applicant": request.applicant,
        "owner_subject": request.owner_subject,
    }


def payment_reference(number: str) -> str:
    return reference(SERVICE, number, "fee")


def refund_reference(number: str, purpose: str) -> str:
    return reference(SERVICE, number, purpose)
