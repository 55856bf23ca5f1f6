"""The courses contract: a request to attend a course at a Knowledge Station (seed 002).

A citizen or resident asks to attend a course of the municipality's catalogue. The decision on a
request waits until the course has its minimum number of participants; then each request is
decided by its branch (free or paid, prerequisite or not, a placement-test pass recorded or not).
The courses service publishes ``courses.request.*`` for each step of one applicant's request.
Each event carries the applicant (for the notifier's SMS), ``owner_subject`` (whose request it
is) and the course as it stood, so a subscriber acts without calling back. The fee travels on the
payments contract: ``courses.payment.requested.v1`` with the reference
``courses:<request number>:fee``.
"""

from __future__ import annotations

from pydantic import Field

from contracts.common import Applicant, ContractModel, LocalizedText, UtcDatetime
from contracts.registry import EventSpec

__all__ = [
    "SPECS",
    "CourseDetails",
    "CourseEvaluationRequested",
    "CourseRequestApproved",
    "CourseRequestCancelled",
    "CourseRequestPaid",
    "CourseRequestRefused",
    "CourseRequestRescheduled",
    "CourseRequestSubmitted",
    "PlacementTestRequired",
]

_REQUEST_NUMBER = Field(
    min_length=1, description="The human request number.", examples=["CR-2026-000123"]
)
_OWNER = Field(
    min_length=1,
    description=(
        "The identity-provider subject (JWT sub) of the citizen who owns the request, so that "
        "they can see the SMS and the request in their own lists."
    ),
    examples=["citizen-9f3a"],
)


class CourseDetails(ContractModel):
    """The course as it stood when the event happened: what the booking SMS tells."""

    code: str = Field(min_length=1, description="The course's code.", examples=["CO-2026-000007"])
    title: LocalizedText = Field(description="The course's title.")
    starts_at: UtcDatetime = Field(description="When the course starts (its first session).")
    schedule: LocalizedText = Field(
        description="When the sessions are held, as shown to applicants (days and hours)."
    )
    place: LocalizedText = Field(description="Where: the Knowledge Station and its area.")
    fee_fils: int = Field(ge=0, description="The fee in fils (1 JOD = 1000 fils); 0 if free.")


class CourseRequestSubmitted(ContractModel):
    """A request was received; it waits for the course's minimum number of participants."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course asked for.")
    submitted_at: UtcDatetime = Field(description="When the request was received.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class CourseRequestApproved(ContractModel):
    """Seed 002, 6.1 / 6.2 / 6.3.1: a free course's request is approved and the seat booked."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course booked.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class PlacementTestRequired(ContractModel):
    """Seed 002, 6.3 / 7.3: the course needs prior knowledge and no pass is recorded: the
    applicant is sent the placement test's link."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course asked for.")
    subject: LocalizedText = Field(description="The knowledge or skill the test checks.")
    placement_test_url: str = Field(
        min_length=1, description="Where the applicant takes the placement test."
    )
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class CourseRequestRefused(ContractModel):
    """Seed 002, 6.3.2 / 7.3.2: the placement test was failed; the request cannot be accepted."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course asked for.")
    subject: LocalizedText = Field(description="The knowledge or skill the test checked.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class CourseRequestPaid(ContractModel):
    """Seed 002, 7.4: the fee of a paid course was received; the booking is confirmed."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course booked.")
    e_payment_number: str = Field(min_length=1, description="The e-payment number paid.")
    paid_at: UtcDatetime = Field(description="When the payment was made.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class CourseRequestCancelled(ContractModel):
    """Seed 002, note 1: the request was cancelled (not paid, or the placement test not taken,
    before the course started); an unpaid bill is withdrawn (courses.payment.cancelled.v1)."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course asked for.")
    reason: LocalizedText = Field(description="Why the request was cancelled.")
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class CourseRequestRescheduled(ContractModel):
    """Seed 002, step 5 and note 2: the course was given a new date (the minimum was not reached
    by its start, or staff moved it); every applicant still waiting is told the new date."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course, with its new start.")
    previous_starts_at: UtcDatetime = Field(description="The start it had before.")
    minimum_not_reached: bool = Field(
        description="True if the course moved because it lacked its minimum number of "
        "participants (seed 002, step 5); false if staff moved a confirmed course."
    )
    applicant: Applicant = Field(description="The applicant.")
    owner_subject: str = _OWNER


class CourseEvaluationRequested(ContractModel):
    """Seed 002, step 8: the course was held; the participant is sent the evaluation link."""

    request_number: str = _REQUEST_NUMBER
    course: CourseDetails = Field(description="The course held.")
    evaluation_url: str = Field(min_length=1, description="Where the course is evaluated.")
    applicant: Applicant = Field(description="The participant.")
    owner_subject: str = _OWNER


SPECS: tuple[EventSpec, ...] = (
    EventSpec(
        routing_key="courses.request.submitted.v1",
        data_model=CourseRequestSubmitted,
        producer="courses",
        summary="A request to attend a course was received; it waits for the minimum.",
        silent_because=(
            "seed 002 sends no SMS on submission: the portal shows the request number, and the "
            "first SMS is the decision"
        ),
    ),
    EventSpec(
        routing_key="courses.request.approved.v1",
        data_model=CourseRequestApproved,
        producer="courses",
        summary="A free course's request was approved and its seat booked (6.1, 6.2, 6.3.1).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="courses.request.placement_test_required.v1",
        data_model=PlacementTestRequired,
        producer="courses",
        summary="The applicant must pass the placement test first: its link (6.3, 7.3).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="courses.request.refused.v1",
        data_model=CourseRequestRefused,
        producer="courses",
        summary="The placement test was failed: the request is refused (6.3.2, 7.3.2).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="courses.request.paid.v1",
        data_model=CourseRequestPaid,
        producer="courses",
        summary="A paid course's fee was received: the booking is confirmed (7.4).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="courses.request.cancelled.v1",
        data_model=CourseRequestCancelled,
        producer="courses",
        summary="A request was cancelled: not paid or not tested before the start (note 1).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="courses.request.rescheduled.v1",
        data_model=CourseRequestRescheduled,
        producer="courses",
        summary="The course of a request got a new start date (step 5, note 2).",
        notifies_applicant=True,
    ),
    EventSpec(
        routing_key="courses.request.evaluation_requested.v1",
        data_model=CourseEvaluationRequested,
        producer="courses",
        summary="The course was held: the participant is asked to evaluate it (step 8).",
        notifies_applicant=True,
    ),
)
"""Every event type of the courses contract, registered by `contracts/__init__.py`."""
