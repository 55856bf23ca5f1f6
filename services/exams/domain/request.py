"""The exam request: one person asking to sit one exam, from confirmation to certificate.

Each function takes the current request and what happened, and returns a `RequestChange` (the
new request and the events to publish), **None when there is nothing to do** (an event delivered
again, a bill of a request that moved on), or raises a refusal (`NotAllowedNow` when the state
has no such step, `NotPermitted` when the actor lacks its role, `RuleBroken` for a bad input).
The moves themselves follow `REQUEST_WORKFLOW` (`services.common.workflow.moved`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from contracts import (
    Applicant,
    LocalizedText,
    PaymentCancelled,
    PaymentRequested,
    RefundRequested,
    reference,
    reference_parts,
)
from contracts.exams import (
    ExamAbsenceRecorded,
    ExamAttendanceRecorded,
    ExamCentre,
    ExamCertificateCollected,
    ExamDetails,
    ExamRequestCancelled,
    ExamRequestPaid,
    ExamRequestScheduled,
    ExamRequestSubmitted,
    ExamResultRecorded,
)
from services.common.calendar import WorkingCalendar
from services.common.documents.model import Due
from services.common.errors import NotAllowedNow, RuleBroken
from services.common.formatting import AMMAN, amman_date
from services.common.workflow import (
    Actor,
    Fee,
    Raised,
    StoredRecord,
    TimelineEntry,
    find_step,
    moved,
    system,
)
from services.exams.domain.application import Application, IdType, documents_for
from services.exams.domain.catalogue import Catalogue, CatalogueExam
from services.exams.domain.documents import certificate_notice, notice_done, result_slip
from services.exams.domain.workflow import (
    PAYMENTS,
    REQUEST_WORKFLOW,
    SERVICE,
    ExamType,
    Outcome,
    RequestAction,
    RequestStatus,
)

if TYPE_CHECKING:  # a request only reads the session that schedules it
    from services.exams.domain.session import ExamSession

REQUEST_PREFIX = "EX"
FEE_PURPOSE = "fee"
LATE_PAYMENT_REFUND_PURPOSE = "late_payment_refund"
SERVICE_TYPE = "exams.exam_fee"

CancelCause = Literal["payment_expired", "withdrawn", "bill_cancelled"]


class Result(StoredRecord):
    outcome: Outcome
    score: int | None = None
    note: str | None = None
    recorded_at: datetime


class ExamRequest(StoredRecord):
    request_number: str
    owner_subject: str
    exam: ExamDetails
    centre: ExamCentre
    applicant: Applicant
    id_type: IdType
    status: RequestStatus
    submitted_at: datetime
    fee: Fee
    session_minimum: int | None = None
    session_number: str | None = None
    exam_at: datetime | None = None
    venue: LocalizedText | None = None
    result: Result | None = None
    collected_at: datetime | None = None
    collected_by: str | None = None
    cancel_cause: CancelCause | None = None
    history: tuple[TimelineEntry, ...] = ()
    version: int = 0

    @property
    def exam_type(self) -> ExamType:
        return ExamType(self.exam.type)

    @property
    def needs_a_session(self) -> bool:
        """Paid for an official exam and not yet seated in a session."""
        return self.status is RequestStatus.AWAITING_SESSION and self.session_number is None

    @property
    def documents(self) -> LocalizedText:
        return documents_for(self.id_type)


@dataclass(frozen=True)
class RequestChange:
    """A decided change of a request: the request as it becomes, the events it raises, and the
    documents it issues or revokes (`domain/documents.py`), all saved in one write."""

    request: ExamRequest
    events: tuple[Raised, ...] = ()
    documents: tuple[Due, ...] = ()


@dataclass(frozen=True)
class PaymentMade:
    """What payments said about the fee (payments.bill.paid.v1)."""

    e_payment_number: str
    amount_fils: int
    paid_at: datetime


def _about(request: ExamRequest) -> dict[str, object]:
    """What every request event says about its request."""
    return {
        "request_number": request.request_number,
        "exam": request.exam,
        "applicant": request.applicant,
        "owner_subject": request.owner_subject,
    }


# ---- references and deadlines ------------------------------------------------------------------


def payment_reference(request_number: str) -> str:
    """The reference of a request's fee: `exams:<number>:fee`."""
    return reference(SERVICE, request_number, FEE_PURPOSE)


def request_number_of(value: str) -> str | None:
    """The request number of one of our fee references (`exams:<number>:fee`), else None: a
    bill of another service, or of another purpose."""
    parts = reference_parts(value)
    if parts is None:
        return None
    service, number, purpose = parts
    return number if (service, purpose) == (SERVICE, FEE_PURPOSE) else None


def payment_due(calendar: WorkingCalendar, now: datetime, working_days: int) -> datetime:
    """The fee is payable up to the last second of the n-th working day after confirmation
    (payments' `due_at` is the last instant a bill can be paid)."""
    return calendar.deadline_after(now, working_days) - timedelta(seconds=1)


def fee_description(exam: CatalogueExam) -> LocalizedText:
    """What the bill is for: the exam's name, which the bill's SMS shows (its first 30 letters)."""
    return LocalizedText(ar=f"رسوم {exam.name.ar}", en=f"{exam.name.en} fee")


# ---- 1. confirmed: the fee is asked of payments -----------------------------------------------


def submit(
    application: Application,
    catalogue: Catalogue,
    *,
    request_number: str,
    owner: Actor,
    now: datetime,
    payment_due_at: datetime,
) -> RequestChange:
    """Seed 004, step 1: the confirmed request asks payments for the fee of its subject."""
    step = find_step(REQUEST_WORKFLOW, RequestAction.SUBMIT, None)
    exam = application.exam
    fee = catalogue.fee_of(exam)
    centre = catalogue.centre_of(exam).contract()
    fee_reference = payment_reference(request_number)
    request = ExamRequest(
        request_number=request_number,
        owner_subject=owner.subject,
        exam=catalogue.details(exam),
        centre=centre,
        applicant=application.applicant,
        id_type=application.id_type,
        status=RequestStatus(step.target),
        submitted_at=now,
        fee=Fee(payment_reference=fee_reference, amount_fils=fee, due_at=payment_due_at),
        session_minimum=exam.min_candidates,
        history=(
            TimelineEntry(
                at=now,
                action=step.action,
                source=None,
                target=step.target,
                by=owner.subject,
                role=owner.role_for(step),
            ),
        ),
    )
    submitted = ExamRequestSubmitted(
        **_about(request),
        centre=centre,
        fee_fils=fee,
        payment_reference=fee_reference,
        payment_due_at=payment_due_at,
        submitted_at=now,
    )
    payment = PaymentRequested(
        payment_reference=fee_reference,
        request_number=request_number,
        amount_fils=fee,
        description=fee_description(exam),
        due_at=payment_due_at,
        payer=application.applicant,
        service_type=SERVICE_TYPE,
        owner_subject=owner.subject,
    )
    return RequestChange(
        request,
        (
            Raised("exams.request.submitted.v1", submitted),
            Raised("exams.payment.requested.v1", payment),
        ),
    )


# ---- 2 and 3. paid (or not) -------------------------------------------------------------------


def record_bill(
    request: ExamRequest, bill_reference: str, e_payment_number: str
) -> RequestChange | None:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the request's current fee, once; no event."""
    if (
        request.status is not RequestStatus.AWAITING_PAYMENT
        or request.fee.payment_reference != bill_reference
        or request.fee.e_payment_number is not None
    ):
        return None
    fee = request.fee.model_copy(update={"e_payment_number": e_payment_number})
    return RequestChange(request.model_copy(update={"fee": fee}))


def record_payment(request: ExamRequest, paid: PaymentMade, now: datetime) -> RequestChange | None:
    """Seed 004, steps 2 and 3: the fee is paid; the branch is the exam's type.

    Paid again (a redelivered or repeated event) changes nothing. Paid after the request was
    cancelled (the citizen withdrew while the payment was on its way): the money is asked back,
    once."""
    if request.status is RequestStatus.CANCELLED:
        if request.fee.refund_requested_at is not None:
            return None
        return _refund_late_payment(request, paid, now)
    if request.status is not RequestStatus.AWAITING_PAYMENT:
        return None
    fee = request.fee.model_copy(
        update={"e_payment_number": paid.e_payment_number, "paid_at": paid.paid_at}
    )
    paid_request = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.PAY,
        system(PAYMENTS),
        now,
        branch=request.exam_type,
        fee=fee,
    )
    event = ExamRequestPaid(
        **_about(request),
        centre=request.centre,
        e_payment_number=paid.e_payment_number,
        amount_fils=paid.amount_fils,
        paid_at=paid.paid_at,
        session_minimum=request.session_minimum,
    )
    return RequestChange(paid_request, (Raised("exams.request.paid.v1", event),))


def _refund_late_payment(request: ExamRequest, paid: PaymentMade, now: datetime) -> RequestChange:
    fee = request.fee.model_copy(
        update={
            "e_payment_number": paid.e_payment_number,
            "paid_at": paid.paid_at,
            "refund_requested_at": now,
        }
    )
    refunding = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.REFUND_LATE_PAYMENT,
        system(PAYMENTS),
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
            ar="دُفعت الرسوم بعد إلغاء طلب الامتحان",
            en="Fee paid after the exam request was cancelled",
        ),
        needs_approval=False,
        payer=request.applicant,
    )
    return RequestChange(refunding, (Raised("exams.refund.requested.v1", refund),))


def _cancelled(
    request: ExamRequest,
    action: RequestAction,
    actor: Actor,
    now: datetime,
    cause: CancelCause,
    why: str | None = None,
) -> tuple[ExamRequest, Raised]:
    cancelled = moved(request, REQUEST_WORKFLOW, action, actor, now, why=why, cancel_cause=cause)
    event = ExamRequestCancelled(
        **_about(request), cause=cause, payment_due_at=request.fee.due_at, at=now
    )
    return cancelled, Raised("exams.request.cancelled.v1", event)


def expire(request: ExamRequest, now: datetime) -> RequestChange | None:
    """The bill expired unpaid: the request is cancelled, and the applicant told so."""
    if request.status is not RequestStatus.AWAITING_PAYMENT:
        return None
    cancelled, event = _cancelled(
        request, RequestAction.EXPIRE, system(PAYMENTS), now, "payment_expired"
    )
    return RequestChange(cancelled, (event,))


def bill_cancelled(request: ExamRequest, now: datetime) -> RequestChange | None:
    """Payments cancelled the unpaid bill. After a withdrawal the request is already cancelled
    (and the applicant already told): nothing more happens."""
    if request.status is not RequestStatus.AWAITING_PAYMENT:
        return None
    cancelled, event = _cancelled(
        request, RequestAction.CANCEL, system(PAYMENTS), now, "bill_cancelled"
    )
    return RequestChange(cancelled, (event,))


def withdraw(request: ExamRequest, actor: Actor, now: datetime, why: str | None) -> RequestChange:
    """The applicant withdraws an unpaid request; payments is asked to cancel the bill."""
    cancelled, event = _cancelled(request, RequestAction.WITHDRAW, actor, now, "withdrawn", why)
    cancel = PaymentCancelled(
        payment_reference=request.fee.payment_reference,
        request_number=request.request_number,
        reason="the applicant withdrew the exam request",
    )
    return RequestChange(cancelled, (event, Raised("exams.payment.cancelled.v1", cancel)))


# ---- 3. an official exam: the session and its date --------------------------------------------


def join_session(request: ExamRequest, session_number: str, now: datetime) -> RequestChange | None:
    """Record the session that seated the candidate; once only."""
    if request.session_number is not None or request.status is not RequestStatus.AWAITING_SESSION:
        return None
    joined = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.JOIN_SESSION,
        system(SERVICE),
        now,
        why=session_number,
        session_number=session_number,
    )
    return RequestChange(joined)


def schedule(request: ExamRequest, session: ExamSession, now: datetime) -> RequestChange | None:
    """The session's date was set: the candidate is told when, where and what to bring.

    The session's candidate list is the truth of who sits it, so a candidate the session seated
    is scheduled even before `join_session` recorded the number on the request."""
    if request.status is not RequestStatus.AWAITING_SESSION:
        return None
    if session.exam_at is None or session.venue is None:
        raise NotAllowedNow(
            f"session {session.session_number} has no date yet",
            f"لم يُحدد موعد الجلسة {session.session_number} بعد",
        )
    if request.request_number not in session.candidates:
        raise NotAllowedNow(
            f"{request.request_number} is not a candidate of {session.session_number}",
            f"الطلب {request.request_number} ليس من متقدمي الجلسة {session.session_number}",
        )
    scheduled = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.SCHEDULE,
        system(SERVICE),
        now,
        why=session.session_number,
        session_number=session.session_number,
        exam_at=session.exam_at,
        venue=session.venue,
    )
    event = ExamRequestScheduled(
        **_about(request),
        session_number=session.session_number,
        exam_at=session.exam_at,
        venue=session.venue,
        documents=request.documents,
    )
    return RequestChange(scheduled, (Raised("exams.request.scheduled.v1", event),))


# ---- 4. the exam held: attendance, result, certificate ----------------------------------------


def record_attendance(
    request: ExamRequest, actor: Actor, now: datetime, why: str | None
) -> RequestChange:
    """The candidate sat the exam (a trial any day; an official one on or after its day)."""
    if (
        request.status is RequestStatus.SCHEDULED
        and request.exam_at is not None
        and now.astimezone(AMMAN).date() < request.exam_at.astimezone(AMMAN).date()
    ):
        day = amman_date(request.exam_at)
        raise RuleBroken(
            f"the exam is on {day}: attendance is recorded on or after that day",
            f"موعد الامتحان {day}: يُسجل الحضور في ذلك اليوم أو بعده",
        )
    sat = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.RECORD_ATTENDANCE,
        actor,
        now,
        branch=request.exam_type,
        why=why,
    )
    event = ExamAttendanceRecorded(**_about(request), session_number=request.session_number, at=now)
    return RequestChange(sat, (Raised("exams.request.attendance_recorded.v1", event),))


def record_absence(
    request: ExamRequest, actor: Actor, now: datetime, why: str | None
) -> RequestChange:
    """The candidate did not come to the official session (recorded once the exam started)."""
    if (
        request.status is RequestStatus.SCHEDULED
        and request.exam_at is not None
        and now < request.exam_at
    ):
        raise RuleBroken(
            "the exam has not started yet: absence is recorded after it starts",
            "لم يبدأ الامتحان بعد: يُسجل الغياب بعد بدئه",
        )
    absent = moved(request, REQUEST_WORKFLOW, RequestAction.RECORD_ABSENCE, actor, now, why=why)
    assert request.session_number is not None and request.exam_at is not None
    event = ExamAbsenceRecorded(
        **_about(request), session_number=request.session_number, exam_at=request.exam_at, at=now
    )
    return RequestChange(absent, (Raised("exams.request.absence_recorded.v1", event),))


def record_result(
    request: ExamRequest,
    actor: Actor,
    now: datetime,
    *,
    outcome: Outcome,
    score: int | None,
    note: str | None,
) -> RequestChange:
    """Seed 004, step 4: the reviewed result. Passed: the certificate is ready for collection.
    Failed (the seed is silent): the candidate is told too. Either way the result slip is
    issued; with a pass, the notice that the certificate is ready too."""
    result = Result(outcome=outcome, score=score, note=note, recorded_at=now)
    recorded = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.RECORD_RESULT,
        actor,
        now,
        branch=outcome,
        why=note,
        result=result,
    )
    event = ExamResultRecorded(
        **_about(request),
        outcome=outcome.value,
        score=score,
        centre=request.centre,
        documents=request.documents,
        recorded_at=now,
    )
    documents = [result_slip(recorded, now)]
    if outcome is Outcome.PASSED:
        documents.append(certificate_notice(recorded, now))
    return RequestChange(
        recorded, (Raised("exams.request.result_recorded.v1", event),), tuple(documents)
    )


def record_collection(
    request: ExamRequest, actor: Actor, now: datetime, *, collected_by: str | None
) -> RequestChange:
    """The certificate was handed over: to the candidate, unless staff name a delegate. The
    notice that it was ready has done its job: it is revoked."""
    receiver = collected_by or request.applicant.name
    collected = moved(
        request,
        REQUEST_WORKFLOW,
        RequestAction.RECORD_COLLECTION,
        actor,
        now,
        why=receiver,
        collected_at=now,
        collected_by=receiver,
    )
    event = ExamCertificateCollected(**_about(request), collected_at=now, collected_by=receiver)
    return RequestChange(
        collected,
        (Raised("exams.request.certificate_collected.v1", event),),
        (notice_done(collected, now),),
    )
