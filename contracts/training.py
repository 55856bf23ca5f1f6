"""The training contract: training, and mission facilitation, for students and delegates (seed 003).

A student or delegate nominated by an institution, or an individual, asks to train in a department
of the municipality (تدريب) or to be helped with a mission (تسهيل مهمة: a study needing the
municipality's data or access). The training service publishes ``training.request.*`` for each
step of one applicant's request. Each event carries the applicant (for the notifier's SMS),
``owner_subject`` (whose request it is) and the request's details as they stood, so a subscriber
acts without calling back. The GIS course fee of an individual travels on the payments contract:
``training.payment.requested.v1`` with the reference ``training:<request number>:fee``; the
refund of 75 % after a second no-show is ``training.refund.requested.v1`` with
``needs_approval=True`` and the reference ``training:<request number>:no_show_refund``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.common import Applicant, ContractModel, LocalizedText, UtcDatetime
from contracts.registry import EventSpec

__all__ = [
    "SPECS",
    "GisCourse",
    "TrainingAttachmentsRejected",
    "TrainingDetails",
    "TrainingPostponed",
    "TrainingPostponementOffered",
    "TrainingRequestApproved",
    "TrainingRequestCancelled",
    "TrainingRequestCompleted",
    "TrainingRequestRejected",
    "TrainingRequestSubmitted",
]

_REQUEST_NUMBER = Field(
    min_length=1, description="The human request number.", examples=["TR-2026-000123"]
)
_OWNER = Field(
    min_length=1,
    description=(
        "The identity-provider subject (JWT sub) of the citizen who owns the request, so that "
        "they can see the SMS and the request in their own lists."
    ),
    examples=["citizen-9f3a"],
)

Kind = Literal["training", "mission"]
CancelReason = Literal[
    "attachments_not_corrected",
    "not_paid",
    "no_show",
    "no_show_after_postponement",
    "postponement_not_chosen",
]


class GisCourse(ContractModel):
    """A GIS course an individual trains in, with its hours and fee as the list showed them."""

    code: str = Field(min_length=1, description="The course's code.", examples=["arcgis_pro"])
    name: LocalizedText = Field(description="The course's name.")
    hours: int = Field(gt=0, description="The course's length in hours.")
    fee_fils: int = Field(ge=0, description="The fee in fils (1 JOD = 1000 fils).")


class TrainingDetails(ContractModel):
    """What was asked for, as it stood when the event happened."""

    kind: Kind = Field(description="training (تدريب) or mission facilitation (تسهيل مهمة).")
    department_code: str = Field(min_length=1, description="The department's code.")
    department: LocalizedText = Field(description="The department's name.")
    start_date: date = Field(description="First day of the period (Amman date).")
    end_date: date = Field(description="Last day of the period (Amman date).")
    study_subject: str | None = Field(
        default=None, description="A mission's study subject, as the applicant wrote it."
    )
    course: GisCourse | None = Field(
        default=None, description="The GIS course of an individual's paid training."
    )
    fee_fils: int = Field(ge=0, description="The fee in fils; 0 when free.")


class TrainingRequestSubmitted(ContractModel):
    """Seed 003, step 6: the request was received and initially accepted."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="What was asked for.")
    submitted_at: UtcDatetime = Field(description="When the request was received.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingAttachmentsRejected(ContractModel):
    """Seed 003, step 7: the attachments are wrong; correct them before `correct_by`."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="What was asked for.")
    note: LocalizedText = Field(description="What is wrong with the attachments.")
    correct_by: UtcDatetime = Field(description="Last instant to upload the corrected file.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingRequestRejected(ContractModel):
    """Seed 003, step 9: the request was not approved; the reasons."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="What was asked for.")
    reasons: LocalizedText = Field(description="Why the request was not approved.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingRequestApproved(ContractModel):
    """Seed 003, step 10: approved (free) or paid (GIS course): the approval letter can be
    printed from the inquiry screen; the training or mission starts on `details.start_date`."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="What was approved.")
    is_paid: bool = Field(description="True when approval followed the payment of the fee.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingPostponementOffered(ContractModel):
    """Seed 003, step 11: no-show at paid GIS training: the start can be postponed once, to a
    date no later than `latest_start_date`, from the inquiry screen before `choose_by`."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="The training missed.")
    latest_start_date: date = Field(description="The latest new start date allowed.")
    choose_by: UtcDatetime = Field(description="Last instant to choose the new date.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingPostponed(ContractModel):
    """The applicant chose the new start date (once): the period moved with it."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="The training, with its new period.")
    previous_start_date: date = Field(description="The start date missed.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingRequestCancelled(ContractModel):
    """The request was cancelled: attachments not corrected in time (note 1), fee not paid in
    time (note 2), or a no-show (note 3: 25 % of the fee withheld, the rest refunded once
    senior management approves)."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="What was asked for.")
    reason_code: CancelReason = Field(description="Why, as a code.")
    reason: LocalizedText = Field(description="Why, in words.")
    withheld_fils: int = Field(default=0, ge=0, description="Part of the fee kept, in fils.")
    refund_fils: int = Field(
        default=0, ge=0, description="Part of the fee to be refunded, in fils (0: none)."
    )
    refund_needs_approval: bool = Field(
        default=False, description="True when the refund waits for senior management."
    )
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class TrainingRequestCompleted(ContractModel):
    """Seed 003, step 12: the period is over. Training: the completion letter (printable from
    the inquiry screen) and the evaluation report (collected in person) are ready. Mission: a
    paper and an electronic copy of the study must be handed in."""

    request_number: str = _REQUEST_NUMBER
    details: TrainingDetails = Field(description="The training or mission that ended.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key="training.request.submitted.v1",
        data_model=TrainingRequestSubmitted,
        producer="training",
        summary="A request was received and initially accepted, with its number (step 6).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.attachments_rejected.v1",
        data_model=TrainingAttachmentsRejected,
        producer="training",
        summary="The attachments must be corrected within 3 working days (step 7).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.rejected.v1",
        data_model=TrainingRequestRejected,
        producer="training",
        summary="The request was not approved, with the reasons (step 9).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.approved.v1",
        data_model=TrainingRequestApproved,
        producer="training",
        summary="Approved (free) or paid: the approval letter can be printed (step 10).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.postponement_offered.v1",
        data_model=TrainingPostponementOffered,
        producer="training",
        summary="No-show at paid GIS training: postponing once, by a month at most (step 11).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.postponed.v1",
        data_model=TrainingPostponed,
        producer="training",
        summary="The applicant chose the new start date of the postponed training.",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.cancelled.v1",
        data_model=TrainingRequestCancelled,
        producer="training",
        summary="Cancelled: attachments not corrected, not paid, or a no-show (notes 1-3).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="training.request.completed.v1",
        data_model=TrainingRequestCompleted,
        producer="training",
        summary="The period is over: completion letter and report, or the study due (step 12).",
        notifies_applicant=True,
    ),
)
"""Every event type of the training contract, registered by `contracts/__init__.py`."""
