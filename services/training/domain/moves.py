"""Every transition of a training request (seed 003): each takes the current request (and who
acts, when a person or the system does) and returns a `Change` (the new request, one timeline line
longer, and its events), or None when there is nothing to do (a redelivered event, a late sweep).
A move the state does not allow is `NotAllowedNow`; an actor without the step's role
`NotPermitted` (both from the workflow table, `services.common.workflow.moved`).
"""

from __future__ import annotations

from datetime import date, datetime

from contracts import Applicant, LocalizedText, PaymentRequested, RefundRequested
from contracts.training import (
    TrainingAttachmentsRejected,
    TrainingPostponed,
    TrainingPostponementOffered,
    TrainingRequestApproved,
    TrainingRequestCancelled,
    TrainingRequestCompleted,
    TrainingRequestRejected,
    TrainingRequestSubmitted,
)
from services.common.calendar import WorkingCalendar
from services.common.errors import NotAllowedNow, RuleBroken
from services.common.formatting import end_of_day
from services.common.workflow import Actor, Raised, TimelineEntry, find_step, moved, not_now
from services.training.domain.application import Application, Kind
from services.training.domain.dates import add_months, day_start, local_date, period_end
from services.training.domain.letters import approval_letter, completion_letter, revoke_approval
from services.training.domain.request import (
    Attachment,
    Change,
    TrainingRequest,
    about,
    payment_reference,
    refund_reference,
)
from services.training.domain.workflow import (
    BY_PAYMENTS,
    CORRECTION_WORKING_DAYS,
    NO_SHOW_WITHHELD_PERCENT,
    PAYMENT_WORKING_DAYS,
    POSTPONE_MONTHS,
    REVIEW_SLA_WORKING_DAYS,
    SERVICE_TYPE,
    SWEEPER,
    WORKFLOW,
    Action,
    Status,
)


def _change(
    request: TrainingRequest, action: str, actor: Actor, now: datetime, *events: Raised,
    branch: str | None = None, why: str | None = None, **changes: object,
) -> Change:  # fmt: skip
    """`request` moved along the table by `actor`, with `changes` and `events`."""
    after = moved(request, WORKFLOW, action, actor, now, branch=branch, why=why, **changes)
    return Change(after, events)


def _with_approval_letter(change: Change, now: datetime) -> Change:
    """The change, issuing the approval letter of the request it leaves (approved, or postponed:
    a new version with the new dates)."""
    letter = approval_letter(change.request, now)
    after = change.request.model_copy(update={"approval_letter_id": letter.id})
    return Change(after, change.events, (*change.documents, letter))


def _revoking_approval_letter(change: Change, now: datetime) -> Change:
    """An approved training cancelled: the change, revoking its approval letter."""
    reason = change.request.cancel_reason
    assert reason is not None
    revoked = revoke_approval(change.request, reason.en, reason.ar, now)
    return Change(change.request, change.events, (*change.documents, revoked))


def _attachment_fits(application: Application, attachment: Attachment) -> None:
    if attachment.kind != application.attachment_kind:
        raise RuleBroken("The attachment does not fit the applicant type.",
                         "المرفق لا يناسب نوع مقدم الطلب.", field="attachment")  # fmt: skip


def submit(
    number: str, actor: Actor, applicant: Applicant, application: Application,
    attachment: Attachment, now: datetime, calendar: WorkingCalendar,
) -> Change:  # fmt: skip
    """Step 6: received and initially accepted; the review's SLA starts. `actor` is the
    applicant, who owns the request."""
    _attachment_fits(application, attachment)
    step = find_step(WORKFLOW, Action.SUBMIT, None)
    entry = TimelineEntry(
        at=now, action=step.action, source=None, target=step.target, by=actor.subject,
        role=actor.role_for(step),
    )  # fmt: skip
    request = TrainingRequest(
        number=number,
        owner_subject=actor.subject,
        applicant=applicant,
        application=application,
        status=Status.UNDER_REVIEW,
        created_at=now,
        attachment=attachment,
        review_started_at=now,
        review_due_at=calendar.deadline_after(now, REVIEW_SLA_WORKING_DAYS),
        history=(entry,),
    )
    submitted = TrainingRequestSubmitted(
        request_number=number,
        details=request.details(),
        submitted_at=now,
        applicant=applicant,
        owner_subject=actor.subject,
    )
    return Change(request, (Raised("training.request.submitted.v1", submitted),))


def flag_attachments(
    request: TrainingRequest, note: LocalizedText, now: datetime, actor: Actor,
    calendar: WorkingCalendar,
) -> Change:  # fmt: skip
    """Step 7: the attachment is wrong; 3 working days to correct it."""
    # Due at 23:59 Amman time of the last day (services/common/formatting.py), as stated.
    due = end_of_day(calendar.add_working_days(local_date(now), CORRECTION_WORKING_DAYS))
    event = TrainingAttachmentsRejected(**about(request), note=note, correct_by=due)
    return _change(
        request, Action.FLAG_ATTACHMENTS, actor, now,
        Raised("training.request.attachments_rejected.v1", event),
        why=note.en, attachment_note=note, due_at=due, review_due_at=None,
    )  # fmt: skip


def correct_attachments(
    request: TrainingRequest, attachment: Attachment, actor: Actor, now: datetime,
    calendar: WorkingCalendar,
) -> Change:  # fmt: skip
    """Corrected in time: back to review (no SMS: the applicant did it on screen)."""
    if request.status is Status.AWAITING_CORRECTION and request.due_at and now >= request.due_at:
        raise NotAllowedNow("The time to correct the attachments has passed.",
                            "انتهت مدة تصويب المرفقات.")  # fmt: skip
    _attachment_fits(request.application, attachment)
    return _change(
        request, Action.CORRECT_ATTACHMENTS, actor, now,
        why=attachment.filename, attachment=attachment, due_at=None,
        review_started_at=now,
        review_due_at=calendar.deadline_after(now, REVIEW_SLA_WORKING_DAYS),
    )  # fmt: skip


def _cancelled(
    request: TrainingRequest, action: str, now: datetime, actor: Actor, code: str,
    reason: LocalizedText, *extra: Raised, branch: str | None = None, withheld: int = 0,
    refund: int = 0, **updates: object,
) -> Change:  # fmt: skip
    event = TrainingRequestCancelled(
        **about(request),
        reason_code=code,
        reason=reason,
        withheld_fils=withheld,
        refund_fils=refund,
        refund_needs_approval=refund > 0,
    )
    return _change(
        request, action, actor, now, Raised("training.request.cancelled.v1", event), *extra,
        branch=branch, why=reason.en, cancel_reason=reason, withheld_fils=withheld,
        refund_fils=refund, due_at=None, review_due_at=None, **updates,
    )  # fmt: skip


def expire_correction(request: TrainingRequest, now: datetime) -> Change | None:
    """Note 1: not corrected in time: cancelled. None if it no longer waits (a late sweep)."""
    if request.status is not Status.AWAITING_CORRECTION:
        return None
    reason = LocalizedText(
        ar="لم تُصوَّب المرفقات خلال المدة المحددة",
        en="the attachments were not corrected in time",
    )
    return _cancelled(
        request, Action.EXPIRE_CORRECTION, now, SWEEPER, "attachments_not_corrected", reason
    )


def _approved(request: TrainingRequest, is_paid: bool) -> Raised:
    approved = TrainingRequestApproved(**about(request), is_paid=is_paid)
    return Raised("training.request.approved.v1", approved)


def approve(
    request: TrainingRequest, now: datetime, actor: Actor, calendar: WorkingCalendar,
    note: str | None = None,
) -> Change:  # fmt: skip
    """Step 8 (an individual's GIS training: the fee is requested) or step 10 (free)."""
    if request.status is Status.UNDER_REVIEW and local_date(now) > request.application.end_date:
        raise RuleBroken("The requested period is already over; reject the request instead.",
                         "انتهت المدة المطلوبة؛ يُرفض الطلب بدلاً من ذلك.")  # fmt: skip
    if not request.is_paid_training:
        after = moved(
            request, WORKFLOW, Action.APPROVE, actor, now, branch="free", why=note,
            review_due_at=None, due_at=period_end(request.application.end_date),
        )  # fmt: skip
        return _with_approval_letter(Change(after, (_approved(after, False),)), now)
    course = request.application.course
    assert course is not None
    reference = payment_reference(request.number)
    due = end_of_day(calendar.add_working_days(local_date(now), PAYMENT_WORKING_DAYS))
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request.number,
        amount_fils=course.fee_fils,
        description=LocalizedText(
            ar=f"رسوم تدريب نظم المعلومات الجغرافية: {course.name.ar}"[:200],
            en=f"GIS training fee: {course.name.en}"[:200],
        ),
        due_at=due,
        payer=request.applicant,
        service_type=SERVICE_TYPE,
        owner_subject=request.owner_subject,
    )
    return _change(
        request, Action.APPROVE, actor, now, Raised("training.payment.requested.v1", payment),
        branch="paid", why=note, review_due_at=None, payment_reference=reference,
        payment_due_at=due,
    )  # fmt: skip


def reject(request: TrainingRequest, reasons: LocalizedText, now: datetime, actor: Actor) -> Change:
    """Step 9: not approved, with the reasons."""
    event = TrainingRequestRejected(**about(request), reasons=reasons)
    return _change(
        request, Action.REJECT, actor, now, Raised("training.request.rejected.v1", event),
        why=reasons.en, rejection_reasons=reasons, review_due_at=None,
    )  # fmt: skip


def record_bill(request: TrainingRequest, reference: str, e_payment_number: str) -> Change | None:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the current bill, once; no event."""
    if (
        request.status is not Status.AWAITING_PAYMENT
        or request.payment_reference != reference
        or request.e_payment_number is not None
    ):
        return None
    return Change(request.model_copy(update={"e_payment_number": e_payment_number}))


def pay(
    request: TrainingRequest, e_payment_number: str, paid_at: datetime, amount_fils: int,
    now: datetime,
) -> Change | None:  # fmt: skip
    """Step 10 after the fee: approved. None: nothing to do (a redelivery, already settled)."""
    if request.status is Status.AWAITING_PAYMENT:
        after = moved(
            request, WORKFLOW, Action.PAY, BY_PAYMENTS, now, e_payment_number=e_payment_number,
            paid_at=paid_at, due_at=period_end(request.application.end_date),
        )  # fmt: skip
        return _with_approval_letter(Change(after, (_approved(after, True),)), now)
    if (
        request.status is Status.CANCELLED
        and request.paid_at is None
        and request.payment_reference
        and request.refund_reference is None
    ):
        # Paid after the bill's expiry crossed the payment: the money goes back, no approval.
        reference = refund_reference(request.number, "late_payment_refund")
        refund = RefundRequested(
            payment_reference=request.payment_reference,
            refund_reference=reference,
            request_number=request.number,
            amount_fils=amount_fils,
            reason=LocalizedText(
                ar="دُفعت الرسوم بعد إلغاء طلب التدريب",
                en="The fee was paid after the training request was cancelled",
            ),
            needs_approval=False,
            payer=request.applicant,
        )
        updated = request.model_copy(
            update={"refund_reference": reference, "refund_status": "requested",
                    "e_payment_number": e_payment_number, "paid_at": paid_at}
        )  # fmt: skip
        return Change(updated, (Raised("training.refund.requested.v1", refund),))
    return None


def expire_payment(request: TrainingRequest, now: datetime) -> Change | None:
    """Note 2: the bill expired (or was withdrawn) unpaid: cancelled, once."""
    if request.status is not Status.AWAITING_PAYMENT:
        return None
    reason = LocalizedText(
        ar="لم تُدفع الرسوم خلال المدة المحددة", en="the fee was not paid in time"
    )
    return _cancelled(request, Action.EXPIRE_PAYMENT, now, BY_PAYMENTS, "not_paid", reason)


def _require_started(request: TrainingRequest, now: datetime) -> None:
    if request.application.kind is Kind.MISSION:
        raise RuleBroken("Attendance is recorded for training only, not for a mission.",
                         "يُسجَّل الحضور للتدريب فقط لا لتسهيل المهمة.")  # fmt: skip
    if now < day_start(request.application.start_date):
        raise NotAllowedNow("The training has not started yet.", "لم يبدأ التدريب بعد.")


def record_attendance(request: TrainingRequest, now: datetime, actor: Actor) -> Change:
    _require_started(request, now)
    return _change(request, Action.RECORD_ATTENDANCE, actor, now)


def _withheld(request: TrainingRequest) -> tuple[int, int]:
    fee = request.application.fee_fils
    withheld = fee * NO_SHOW_WITHHELD_PERCENT // 100
    return withheld, fee - withheld


def _cancel_with_refund(
    request: TrainingRequest, action: str, now: datetime, actor: Actor, code: str,
    reason: LocalizedText,
) -> Change:  # fmt: skip
    """Note 3: cancelled, 25 % of the fee withheld, the rest refunded once approved."""
    withheld, refund = _withheld(request)
    reference = refund_reference(request.number, "no_show_refund")
    extra: list[Raised] = []
    if refund > 0 and request.payment_reference:
        extra.append(Raised(
            "training.refund.requested.v1",
            RefundRequested(
                payment_reference=request.payment_reference,
                refund_reference=reference,
                request_number=request.number,
                amount_fils=refund,
                reason=LocalizedText(
                    ar=f"استرداد {100 - NO_SHOW_WITHHELD_PERCENT}% من رسوم التدريب بعد عدم "
                    f"الحضور في الموعد المؤجل (خُصم {NO_SHOW_WITHHELD_PERCENT}%)",
                    en=f"Refund of {100 - NO_SHOW_WITHHELD_PERCENT} % of the training fee after "
                    f"a no-show at the postponed date ({NO_SHOW_WITHHELD_PERCENT} % withheld)",
                ),
                needs_approval=True,
                payer=request.applicant,
            ),
        ))  # fmt: skip
    return _cancelled(
        request, action, now, actor, code, reason, *extra, withheld=withheld, refund=refund,
        refund_reference=reference if extra else None,
        refund_status="pending_approval" if extra else None,
    )  # fmt: skip


def record_no_show(
    request: TrainingRequest, now: datetime, actor: Actor, note: str | None = None
) -> Change:
    """Step 11 (paid GIS training: postponement offered once), note 3 (a no-show at the new
    date: cancelled, 25 % withheld), or free training (decision: cancelled, nothing to refund)."""
    _require_started(request, now)
    if request.status is Status.POSTPONED:
        reason = LocalizedText(
            ar="عدم الحضور في موعد التدريب الجديد بعد التأجيل",
            en="no-show at the new training date after the postponement",
        )
        return _revoking_approval_letter(
            _cancel_with_refund(
                request, Action.RECORD_NO_SHOW, now, actor, "no_show_after_postponement", reason
            ),
            now,
        )
    if request.status is Status.APPROVED and request.is_paid_training and not request.is_postponed:
        original = request.application.start_date
        latest = add_months(original, POSTPONE_MONTHS)
        choose_by = day_start(latest)
        offered = TrainingPostponementOffered(
            **about(request),
            latest_start_date=latest,
            choose_by=choose_by,
        )
        return _change(
            request, Action.RECORD_NO_SHOW, actor, now,
            Raised("training.request.postponement_offered.v1", offered), branch="paid", why=note,
            due_at=choose_by, latest_start_date=latest,
        )  # fmt: skip
    reason = LocalizedText(ar="عدم الحضور لمباشرة التدريب", en="no-show at the training")
    cancelled = _cancelled(
        request, Action.RECORD_NO_SHOW, now, actor, "no_show", reason, branch="free"
    )
    return _revoking_approval_letter(cancelled, now)


def postpone(
    request: TrainingRequest, new_start: date, actor: Actor, now: datetime,
    calendar: WorkingCalendar,
) -> Change:  # fmt: skip
    """Step 11: the applicant picks the new start, once, within one month of the original."""
    if request.is_postponed:
        raise NotAllowedNow("The training was already postponed once.",
                            "سبق تأجيل التدريب مرة واحدة.", field="start_date")  # fmt: skip
    if request.status is not Status.POSTPONEMENT_OFFERED:
        raise not_now(WORKFLOW, Action.POSTPONE)
    original = request.application.start_date
    latest = request.latest_start_date or add_months(original, POSTPONE_MONTHS)
    if new_start > latest:
        raise RuleBroken(
            f"The new start date must be no later than {latest.isoformat()} (one month).",
            f"يجب ألا يتجاوز موعد البدء الجديد {latest.isoformat()} (شهر واحد).",
            field="start_date",
        )
    if new_start <= max(original, local_date(now)):
        raise RuleBroken("The new start date must be after today and after the missed date.",
                         "يجب أن يكون موعد البدء الجديد بعد اليوم وبعد الموعد الفائت.",
                         field="start_date")  # fmt: skip
    if not calendar.is_working_day(new_start):
        raise RuleBroken("The new start date must be a working day.",
                         "يجب أن يكون موعد البدء الجديد يوم عمل.", field="start_date")  # fmt: skip
    app = request.application
    new_end = new_start + (app.end_date - app.start_date)
    shifted = app.model_copy(update={"start_date": new_start, "end_date": new_end})
    updated = request.model_copy(update={"application": shifted})
    event = TrainingPostponed(**about(updated), previous_start_date=original)
    moved_on = _change(
        updated, Action.POSTPONE, actor, now, Raised("training.request.postponed.v1", event),
        why=new_start.isoformat(), is_postponed=True, original_start_date=original,
        due_at=period_end(new_end),
    )  # fmt: skip
    return _with_approval_letter(moved_on, now)


def expire_postponement(request: TrainingRequest, now: datetime) -> Change | None:
    """Decision: no new date chosen by the last allowed start counts as a no-show at the new
    date (note 3): cancelled, 25 % withheld, the rest refunded once approved."""
    if request.status is not Status.POSTPONEMENT_OFFERED:
        return None
    reason = LocalizedText(
        ar="لم يُختر موعد جديد للتدريب خلال شهر من الموعد الفائت",
        en="no new training date was chosen within one month of the missed date",
    )
    cancelled = _cancel_with_refund(
        request, Action.EXPIRE_POSTPONEMENT, now, SWEEPER, "postponement_not_chosen", reason
    )
    return _revoking_approval_letter(cancelled, now)


def complete(request: TrainingRequest, now: datetime) -> Change | None:
    """Step 12: the period is over (the sweeper on its end)."""
    if request.status not in (Status.APPROVED, Status.ATTENDING, Status.POSTPONED):
        return None
    if now < period_end(request.application.end_date):
        return None
    completed = TrainingRequestCompleted(**about(request))
    done = _change(
        request, Action.COMPLETE, SWEEPER, now,
        Raised("training.request.completed.v1", completed), due_at=None,
    )  # fmt: skip
    if request.application.kind is not Kind.TRAINING:
        return done  # a mission has no completion letter: the study is handed in instead
    letter = completion_letter(done.request, now)
    after = done.request.model_copy(update={"completion_letter_id": letter.id})
    return Change(after, done.events, (letter,))


def on_deadline(request: TrainingRequest, now: datetime) -> Change | None:
    """What the sweeper does when `due_at` comes, by state. A deadline that has come with no move
    to make (none fits the state) is cleared, so that it is not swept again and again."""
    if request.due_at is None or now < request.due_at:
        return None
    if request.status is Status.AWAITING_CORRECTION:
        found = expire_correction(request, now)
    elif request.status is Status.POSTPONEMENT_OFFERED:
        found = expire_postponement(request, now)
    else:
        found = complete(request, now)
    return found or Change(request.model_copy(update={"due_at": None}))


def refund_decided(request: TrainingRequest, reference: str, approved: bool) -> Change | None:
    """Payments decided on our refund: remembered for the inquiry. None: nothing changes (a
    redelivery, or a refund this request did not ask for)."""
    status = "approved" if approved else "rejected"
    if request.refund_reference != reference or request.refund_status == status:
        return None
    return Change(request.model_copy(update={"refund_status": status}))
