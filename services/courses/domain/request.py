"""A request to attend a course (seed 002): its branches, the payment, the proof of prior
knowledge, and how it follows its course.

Each function takes the request (and its course) as they stand and returns a `Change`: the
request's new value and the events to publish, or None when there is nothing to do; a refusal is
a `DomainError`. A request waits until its course reaches the minimum, then is decided by its
branch. It converges to its course through `sync_request`: once the course is confirmed a waiting
request is decided, once it is rescheduled an active request is told the new date, once it has
started an unpaid or untested request is cancelled, once it is held a booked participant is sent
the evaluation link. Each of these moves is guarded by the request's own state, so running the
sync twice (two replicas, a retried sweep) changes nothing the second time.

The change that approves a request (free: approved; paid: the fee paid) also issues its enrolment
confirmation (`confirmation.py`), a `Due` the store stages in the same write; the sync that tells an
approved participant a new date issues a new version of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import field_validator

from contracts import Applicant, LocalizedText, PaymentCancelled, PaymentRequested, reference
from contracts.courses import (
    CourseEvaluationRequested,
    CourseRequestApproved,
    CourseRequestCancelled,
    CourseRequestPaid,
    CourseRequestRefused,
    CourseRequestRescheduled,
    CourseRequestSubmitted,
    PlacementTestRequired,
)
from contracts.payments import RefundRequested
from services.common.documents.model import Due
from services.common.errors import NotAllowedNow, RuleBroken
from services.common.workflow import Actor, Raised, StoredRecord, TimelineEntry, moved, not_now
from services.courses.domain.confirmation import (
    CONFIRMED,
    confirmation,
    is_outdated,
    reissue_once,
)
from services.courses.domain.course import Course
from services.courses.domain.workflow import (
    ACTIVE,
    BY_PAYMENTS,
    BY_SYSTEM,
    FREE,
    PAID,
    REQUEST_WORKFLOW,
    SERVICE,
    CourseStatus,
    RequestAction,
    RequestStatus,
    opening,
    upgraded_lines,
)

ProofReview = Literal["pending", "accepted", "rejected"]


class Proof(StoredRecord):
    """Proof of prior knowledge: the file is in the service's GridFS bucket, checked by its
    bytes (PDF, PNG or JPEG) and its size; staff review it."""

    file_id: str
    content_type: str
    size: int
    filename: str
    uploaded_at: datetime
    review: ProofReview = "pending"
    reviewed_by: str | None = None


class CourseRequest(StoredRecord):
    number: str
    owner_subject: str
    course_code: str
    applicant: Applicant
    status: RequestStatus = RequestStatus.WAITING
    version: int = 1
    schedule_version: int = 1
    created_at: datetime
    payment_reference: str | None = None
    e_payment_number: str | None = None
    is_refund_requested: bool = False
    placement_passed: bool | None = None
    proof: Proof | None = None
    # The course's `schedule_version` the enrolment confirmation shows (None: none issued).
    confirmed_schedule_version: int | None = None
    # Set until the request holds its seat (see `SEAT_CHECK_AFTER`).
    seat_check_at: datetime | None = None
    history: tuple[TimelineEntry, ...] = ()

    @field_validator("history", mode="before")
    @classmethod
    def _stored_before_roles(cls, lines: Any) -> Any:
        return upgraded_lines(REQUEST_WORKFLOW, lines)


@dataclass(frozen=True)
class Change:
    """A request's new value (with the timeline lines it gained) and the events it raises."""

    request: CourseRequest
    events: tuple[Raised, ...] = ()
    # The seat is given back to the course (refused, cancelled).
    releases_seat: bool = False
    # The applicant passed the placement test: remember it for later courses.
    records_pass: bool = False
    # The documents the change issues (the enrolment confirmation), staged in the same write.
    documents: tuple[Due, ...] = ()


def _move(
    change: Change, action: RequestAction, actor: Actor, now: datetime, *raised: Raised,
    branch: str | None = None, why: str | None = None, **updates: object,
) -> Change:  # fmt: skip
    """`change` taken one step further along the request's workflow, raising `raised`."""
    request = moved(
        change.request, REQUEST_WORKFLOW, action, actor, now, branch=branch, why=why, **updates
    )
    return replace(change, request=request, events=(*change.events, *raised))


def _confirmed(change: Change, course: Course, now: datetime, once: str) -> Change:
    """`change`, whose request is approved, issuing its enrolment confirmation (the first, or a
    new version showing the course's new dates)."""
    request = change.request.model_copy(
        update={"confirmed_schedule_version": course.schedule_version}
    )
    due = confirmation(request, course, now, once=once)
    return replace(change, request=request, documents=(*change.documents, due))


def record_bill(request: CourseRequest, reference: str, e_payment_number: str) -> Change | None:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the current bill, once; no event."""
    if (
        request.status is not RequestStatus.AWAITING_PAYMENT
        or request.payment_reference != reference
        or request.e_payment_number is not None
    ):
        return None
    return Change(request.model_copy(update={"e_payment_number": e_payment_number}))


def payment_reference(number: str) -> str:
    return reference(SERVICE, number, "fee")


# A new request must have its seat by then; if not (the process died in between), it is removed.
SEAT_CHECK_AFTER = timedelta(minutes=10)


def submit(
    number: str, owner: Actor, course: Course, applicant: Applicant, now: datetime
) -> Change:
    """A citizen asks to attend `course` (seed 002, 1-4): the request waits for the minimum."""
    entry = opening(REQUEST_WORKFLOW, RequestAction.SUBMIT, owner, now)
    request = CourseRequest(
        number=number,
        owner_subject=owner.subject,
        course_code=course.code,
        applicant=applicant,
        status=RequestStatus.WAITING,
        schedule_version=course.schedule_version,
        created_at=now,
        seat_check_at=now + SEAT_CHECK_AFTER,
        history=(entry,),
    )
    return Change(request, (submitted_event(request, course),))


def submitted_event(request: CourseRequest, course: Course) -> Raised:
    submitted = CourseRequestSubmitted(
        request_number=request.number,
        course=course.details(),
        submitted_at=request.created_at,
        applicant=request.applicant,
        owner_subject=request.owner_subject,
    )
    return Raised("courses.request.submitted.v1", submitted)


def _book_or_bill(
    change: Change, action: RequestAction, course: Course, now: datetime, actor: Actor
) -> Change:
    """The prerequisite is met: a free course is approved, a paid one billed (6.x / 7.x)."""
    request = change.request
    if course.is_free:
        approved = CourseRequestApproved(
            request_number=request.number,
            course=course.details(),
            applicant=request.applicant,
            owner_subject=request.owner_subject,
        )
        booked = _move(
            change, action, actor, now, Raised("courses.request.approved.v1", approved),
            branch=FREE,
        )  # fmt: skip
        return _confirmed(booked, course, now, CONFIRMED)
    reference = payment_reference(request.number)
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request.number,
        amount_fils=course.fee_fils,
        description=LocalizedText(
            ar=f"رسوم دورة: {course.title.ar}"[:200], en=f"Course fee: {course.title.en}"[:200]
        ),
        # Seed 002, note 1: not paid before the course starts -> cancelled.
        due_at=course.starts_at,
        payer=request.applicant,
        service_type="courses.course_fee",
        owner_subject=request.owner_subject,
    )
    return _move(
        change, action, actor, now, Raised("courses.payment.requested.v1", payment),
        branch=PAID, payment_reference=reference,
    )  # fmt: skip


def decide(request: CourseRequest, course: Course, has_pass: bool, now: datetime) -> Change:
    """The course reached its minimum: decide a waiting request by its branch (6.1-7.3)."""
    change = Change(request)
    prerequisite = course.prerequisite
    is_proven = request.proof is not None and request.proof.review == "accepted"
    if prerequisite is not None and not has_pass and not is_proven:
        required = PlacementTestRequired(
            request_number=request.number,
            course=course.details(),
            subject=prerequisite.subject,
            placement_test_url=prerequisite.placement_test_url,
            applicant=request.applicant,
            owner_subject=request.owner_subject,
        )
        return _move(
            change, RequestAction.REQUIRE_TEST, BY_SYSTEM, now,
            Raised("courses.request.placement_test_required.v1", required),
        )  # fmt: skip
    action = RequestAction.APPROVE if course.is_free else RequestAction.REQUEST_PAYMENT
    return _book_or_bill(change, action, course, now, BY_SYSTEM)


def record_placement_result(
    request: CourseRequest, course: Course, passed: bool, now: datetime, actor: Actor,
    note: str | None = None,
) -> Change:  # fmt: skip
    """6.3.1 / 7.3.1 (pass: approved or billed) and 6.3.2 / 7.3.2 (fail: refused)."""
    if request.status is not RequestStatus.AWAITING_TEST:
        raise not_now(REQUEST_WORKFLOW, RequestAction.PASS_TEST)
    prerequisite = course.prerequisite
    assert prerequisite is not None  # a request awaits a test only for such a course
    if passed:
        change = Change(request.model_copy(update={"placement_passed": True}), records_pass=True)
        return _book_or_bill(change, RequestAction.PASS_TEST, course, now, actor)
    refused = CourseRequestRefused(
        request_number=request.number,
        course=course.details(),
        subject=prerequisite.subject,
        applicant=request.applicant,
        owner_subject=request.owner_subject,
    )
    return _move(
        Change(request, releases_seat=True), RequestAction.FAIL_TEST, actor, now,
        Raised("courses.request.refused.v1", refused), why=note, placement_passed=False,
    )  # fmt: skip


def pay(
    request: CourseRequest, course: Course, e_payment_number: str, paid_at: datetime,
    amount_fils: int, now: datetime,
) -> Change | None:  # fmt: skip
    """7.4: the bill was paid. None: nothing to do (a redelivery, or already settled)."""
    if request.status is RequestStatus.AWAITING_PAYMENT:
        paid = CourseRequestPaid(
            request_number=request.number,
            course=course.details(),
            e_payment_number=e_payment_number,
            paid_at=paid_at,
            applicant=request.applicant,
            owner_subject=request.owner_subject,
        )
        booked = _move(
            Change(request), RequestAction.PAY, BY_PAYMENTS, now,
            Raised("courses.request.paid.v1", paid), e_payment_number=e_payment_number,
        )  # fmt: skip
        return _confirmed(booked, course, now, CONFIRMED)
    if request.status is RequestStatus.CANCELLED and not request.is_refund_requested:
        # Paid after the cancellation crossed the bill's withdrawal: the money goes back.
        refund = RefundRequested(
            payment_reference=payment_reference(request.number),
            refund_reference=reference(SERVICE, request.number, "late_payment_refund"),
            request_number=request.number,
            amount_fils=amount_fils,
            reason=LocalizedText(
                ar="دُفعت الرسوم بعد إلغاء طلب حضور الدورة",
                en="The fee was paid after the course request was cancelled",
            ),
            needs_approval=False,
            payer=request.applicant,
        )
        updated = request.model_copy(update={"is_refund_requested": True})
        return Change(updated, (Raised("courses.refund.requested.v1", refund),))
    return None


def cancel(
    request: CourseRequest, course: Course, now: datetime, *, bill_withdrawn: bool
) -> Change | None:
    """Note 1: unpaid (or untested) when the course starts, or the bill expired: cancelled.
    None: the request awaits neither the fee nor the test (e.g. it was paid meanwhile)."""
    if request.status is RequestStatus.AWAITING_PAYMENT:
        action = RequestAction.CANCEL_UNPAID
        reason = LocalizedText(
            ar="لم تُدفع الرسوم قبل موعد بدء الدورة",
            en="the fee was not paid before the course started",
        )
    elif request.status is RequestStatus.AWAITING_TEST:
        action = RequestAction.CANCEL_UNTESTED
        reason = LocalizedText(
            ar="لم يُقدَّم امتحان المستوى قبل موعد بدء الدورة",
            en="the placement test was not taken before the course started",
        )
    else:
        return None
    cancelled = CourseRequestCancelled(
        request_number=request.number,
        course=course.details(),
        reason=reason,
        applicant=request.applicant,
        owner_subject=request.owner_subject,
    )
    events = [Raised("courses.request.cancelled.v1", cancelled)]
    if request.payment_reference and not bill_withdrawn:
        withdrawn = PaymentCancelled(
            payment_reference=request.payment_reference,
            request_number=request.number,
            reason="the course started before the fee was paid",
        )
        events.append(Raised("courses.payment.cancelled.v1", withdrawn))
    return _move(
        Change(request, releases_seat=True), action, BY_SYSTEM, now, *events, why=reason.en
    )


def sync_request(
    request: CourseRequest, course: Course, has_pass: bool, now: datetime
) -> Change | None:
    """Bring one request up to date with its course (see the module docstring)."""
    change: Change | None = None
    if request.status is RequestStatus.WAITING and course.is_minimum_reached:
        change = decide(request, course, has_pass, now)
    current = change.request if change else request
    if current.status in ACTIVE and current.schedule_version < course.schedule_version:
        rescheduled = CourseRequestRescheduled(
            request_number=current.number,
            course=course.details(),
            previous_starts_at=course.previous_starts_at or course.starts_at,
            minimum_not_reached=not course.is_minimum_reached,
            applicant=current.applicant,
            owner_subject=current.owner_subject,
        )
        change = _move(
            change or Change(current), RequestAction.RESCHEDULE, BY_SYSTEM, now,
            Raised("courses.request.rescheduled.v1", rescheduled),
            schedule_version=course.schedule_version,
        )  # fmt: skip
    current = change.request if change else request
    if is_outdated(current, course):
        # Confirmed before the new date: a new version of the confirmation replaces the old.
        change = _confirmed(change or Change(current), course, now, reissue_once(course))
    current = change.request if change else request
    if course.is_started and current.status in (
        RequestStatus.AWAITING_PAYMENT,
        RequestStatus.AWAITING_TEST,
    ):
        cancelled = cancel(current, course, now, bill_withdrawn=False)
        assert cancelled is not None
        change = _merge(change, cancelled)
    current = change.request if change else request
    if (
        course.status is CourseStatus.HELD
        and current.status is RequestStatus.APPROVED
        and course.evaluation_url
    ):
        evaluation = CourseEvaluationRequested(
            request_number=current.number,
            course=course.details(),
            evaluation_url=course.evaluation_url,
            applicant=current.applicant,
            owner_subject=current.owner_subject,
        )
        change = _move(
            change or Change(current), RequestAction.COMPLETE, BY_SYSTEM, now,
            Raised("courses.request.evaluation_requested.v1", evaluation),
        )  # fmt: skip
    return change


def _merge(first: Change | None, second: Change) -> Change:
    """`second`, decided on the request `first` produced, after `first`."""
    if first is None:
        return second
    return Change(
        second.request,
        (*first.events, *second.events),
        first.releases_seat or second.releases_seat,
        first.records_pass or second.records_pass,
        (*first.documents, *second.documents),
    )


# ---- proof of prior knowledge ----------------------------------------------------------------


def attach_proof(
    request: CourseRequest, course: Course, proof: Proof, now: datetime, actor: Actor
) -> Change:
    """The applicant attaches proof of the prerequisite; it waits for a staff review."""
    if course.prerequisite is None:
        raise RuleBroken(
            "This course has no prerequisite: no proof is needed.",
            "لا تتطلب هذه الدورة معرفة مسبقة، فلا حاجة لإثبات.",
        )
    if request.proof is not None and request.proof.review == "accepted":
        raise NotAllowedNow("The proof was already accepted.", "قُبل الإثبات سابقاً.")
    return _move(
        Change(request), RequestAction.ATTACH_PROOF, actor, now, why=proof.filename, proof=proof
    )


def review_proof(
    request: CourseRequest, course: Course, accepted: bool, now: datetime, actor: Actor,
    note: str | None = None,
) -> Change:  # fmt: skip
    """Staff decide on the proof. Accepted: the prerequisite is met (and remembered, like a pass);
    a request already awaiting the test goes on as after a pass."""
    proof = request.proof
    if proof is None or proof.review != "pending":
        raise NotAllowedNow("There is no proof awaiting review.", "لا يوجد إثبات بانتظار التدقيق.")
    reviewed = proof.model_copy(
        update={"review": "accepted" if accepted else "rejected", "reviewed_by": actor.subject}
    )
    updated = request.model_copy(update={"proof": reviewed})
    if not accepted:
        return _move(Change(updated), RequestAction.REJECT_PROOF, actor, now, why=note)
    if request.status is RequestStatus.AWAITING_TEST:
        change = Change(updated, records_pass=True)
        return _book_or_bill(change, RequestAction.ACCEPT_PROOF, course, now, actor)
    return _move(
        Change(updated, records_pass=True), RequestAction.ACCEPT_PROOF, actor, now, why=note
    )
