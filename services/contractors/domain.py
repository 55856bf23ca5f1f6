"""Renewal of a contractor's permit (seed 001). Pure: no I/O.

What the seed says, and what it leaves to us:

1. lookup: contractor number, permit number and permit year must match the registry; the answer
   is the contractor's name (only the name);
2. the applicant gives the renewal reason, a phone and the one-time code sent to that phone
   (`otp.py`), and submits -> SMS with the request number;
3. (the card stops there) a reviewer approves, or rejects with a bilingual reason (SMS);
4. approved: the fee of the contractor's classification/category (data, may be zero). Non-zero ->
   payments bills it (its SMS carries the e-payment number); zero -> completes at once;
5. paid (or free) -> completed: the permit's new validity (`new_validity`) is written to the
   registry, SMS with it; the bill expired or was cancelled unpaid -> the renewal is cancelled, SMS.

The workflow is declared once, as data (`WORKFLOW`, `STATES`): transitions, roles, labels, next
steps. Each transition takes the current request and what happened, and returns the new request
with the events to publish (a `Change`), or raises one of the errors below.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import (
    Applicant,
    ContractModel,
    LocalizedText,
    PaymentRequested,
    RefundRequested,
    reference,
    reference_parts,
)
from contracts.contractors import (
    PermitRef,
    RenewalApproved,
    RenewalCancelled,
    RenewalCompleted,
    RenewalRejected,
    RenewalSubmitted,
)
from contracts.phones import InvalidPhone, jordan_mobile
from services.common import workflow
from services.common.calendar import WorkingCalendar
from services.common.errors import DomainError as DomainError
from services.common.errors import FieldError as FieldError
from services.common.errors import Gone as Gone
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import NotPermitted as NotPermitted
from services.common.errors import RuleBroken as RuleBroken
from services.common.errors import Throttled as Throttled
from services.common.errors import Unknown as Unknown
from services.common.workflow import Actor as Actor
from services.common.workflow import Fee as Fee
from services.common.workflow import Step as Step
from services.common.workflow import TimelineEntry as TimelineEntry
from services.common.workflow import system as system

SERVICE = "contractors"
REQUEST_PREFIX = "CP"
FEE_PURPOSE = "fee"
SERVICE_TYPE = "contractors.permit_renewal"
AMMAN = ZoneInfo("Asia/Amman")

CITIZEN = "citizen"
REVIEWER = "contractors.reviewer"
REGISTRAR = "contractors.registrar"
SYSTEM = "system"

CancelCause = Literal["payment_expired", "bill_cancelled"]


class Status(StrEnum):
    SUBMITTED = "submitted"
    AWAITING_PAYMENT = "awaiting_payment"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PAY = "pay"
    EXPIRE = "expire"
    CANCEL = "cancel"
    REFUND_LATE_PAYMENT = "refund_late_payment"


class Branch(StrEnum):
    FEE = "fee"
    FREE = "free"


# ---- the workflow, as data -------------------------------------------------------------------


@dataclass(frozen=True)
class State(workflow.State):
    """A state of the table; `is_open` counts it among the requests still in progress."""

    is_open: bool = True


WORKFLOW: tuple[Step, ...] = (
    Step(
        Action.SUBMIT,
        None,
        Status.SUBMITTED,
        (CITIZEN,),
        "Renewal submitted",
        "تم تقديم طلب التجديد",
        "the applicant submits with a verified code (POST /v1/requests)",
    ),
    Step(
        Action.APPROVE,
        Status.SUBMITTED,
        Status.AWAITING_PAYMENT,
        (REVIEWER,),
        "Approved; renewal fee requested",
        "تمت الموافقة وطلب دفع رسوم التجديد",
        "a reviewer approves (POST /v1/requests/{number}/approval)",
        branch=Branch.FEE,
    ),
    Step(
        Action.APPROVE,
        Status.SUBMITTED,
        Status.COMPLETED,
        (REVIEWER,),
        "Approved; renewed (no fee)",
        "تمت الموافقة وتجديد التصريح (دون رسوم)",
        "a reviewer approves a renewal whose fee is zero",
        branch=Branch.FREE,
    ),
    Step(
        Action.REJECT,
        Status.SUBMITTED,
        Status.REJECTED,
        (REVIEWER,),
        "Rejected",
        "تم رفض الطلب",
        "a reviewer rejects with a reason (POST /v1/requests/{number}/rejection)",
    ),
    Step(
        Action.PAY,
        Status.AWAITING_PAYMENT,
        Status.COMPLETED,
        (SYSTEM,),
        "Fee paid; permit renewed",
        "تم دفع الرسوم وتجديد التصريح",
        "payments.bill.paid.v1",
    ),
    Step(
        Action.EXPIRE,
        Status.AWAITING_PAYMENT,
        Status.CANCELLED,
        (SYSTEM,),
        "Cancelled: the fee was not paid in time",
        "أُلغي الطلب لعدم دفع الرسوم في الموعد المحدد",
        "payments.bill.expired.v1",
    ),
    Step(
        Action.CANCEL,
        Status.AWAITING_PAYMENT,
        Status.CANCELLED,
        (SYSTEM,),
        "Cancelled: the bill was cancelled",
        "أُلغي الطلب لإلغاء فاتورة الرسوم",
        "payments.bill.cancelled.v1",
    ),
    Step(
        Action.REFUND_LATE_PAYMENT,
        Status.CANCELLED,
        Status.CANCELLED,
        (SYSTEM,),
        "Paid after cancellation; refund requested",
        "دُفعت الرسوم بعد الإلغاء؛ طُلب استرداد المبلغ",
        "payments.bill.paid.v1 for a cancelled request",
    ),
)

_AGAIN_EN = "You may submit a new renewal at www.amman.jo."
_AGAIN_AR = "يمكنكم تقديم طلب تجديد جديد عبر www.amman.jo."

STATES: Mapping[str, State] = {
    Status.SUBMITTED: State(
        "Awaiting review",
        "قيد المراجعة",
        "Wait for the department's review; the decision is sent to you by SMS.",
        "انتظر مراجعة الدائرة؛ يُرسل إليك القرار برسالة نصية.",
    ),
    Status.AWAITING_PAYMENT: State(
        "Approved; awaiting payment",
        "تمت الموافقة؛ بانتظار دفع الرسوم",
        "Pay the renewal fee of {fee} JOD with the e-payment number sent to you by SMS, by {due}.",
        "ادفع رسوم التجديد ({fee} دينار) باستخدام رقم الدفع الإلكتروني المرسل إليك برسالة "
        "نصية قبل {due}.",
    ),
    Status.COMPLETED: State(
        "Renewed",
        "تم التجديد",
        "The permit is valid from {valid_from} to {valid_to}.",
        "التصريح ساري المفعول من {valid_from} حتى {valid_to}.",
        is_final=True,
        is_open=False,
    ),
    Status.REJECTED: State("Rejected", "مرفوض", _AGAIN_EN, _AGAIN_AR, is_final=True, is_open=False),
    Status.CANCELLED: State(
        "Cancelled", "ملغى", _AGAIN_EN, _AGAIN_AR, is_final=True, is_open=False
    ),
}


# What the shared workflow machinery derives from the tables (role checks, README, labels).
steps = partial(workflow.steps, WORKFLOW)
roles_for = partial(workflow.roles_for, WORKFLOW)
state_diagram = partial(workflow.state_diagram, WORKFLOW, workflow.final_states(STATES))
transitions_table = partial(workflow.transitions_table, WORKFLOW)
states_table = partial(workflow.states_table, STATES)


# ---- errors ----------------------------------------------------------------------------------


def no_match() -> Unknown:
    """The lookup's one answer for any mismatch: it never says which of the three was wrong."""
    return Unknown(
        "No permit matches this contractor number, permit number and permit year together.",
        "لا يوجد تصريح مطابق لرقم المقاول ورقم التصريح وسنة التصريح المدخلة.",
    )


# ---- the applicant's input ------------------------------------------------------------------

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def normalise_number(raw: str) -> str | None:
    """A contractor or permit number in its stored form: ASCII letters, digits, `-` and `/`,
    capitals, 1 to 30 characters (Arabic-Indic digits accepted, spaces dropped)."""
    value = "".join(raw.translate(_ARABIC_DIGITS).split()).upper()
    if not 1 <= len(value) <= 30 or not value.isascii():
        return None
    if not all(char.isalnum() or char in "-/" for char in value):
        return None
    return value


def normalise_phone(raw: str) -> str | None:
    try:
        return jordan_mobile(raw)
    except InvalidPhone:
        return None


@dataclass(frozen=True)
class PermitKey:
    """What the applicant types to find the permit."""

    contractor_number: str
    permit_number: str
    permit_year: int

    @property
    def permit_id(self) -> str:
        return permit_id(self.permit_number, self.permit_year)


def permit_id(number: str, year: int) -> str:
    return f"{number}|{year}"


MIN_YEAR, MAX_YEAR = 1950, 2200


def check_key(contractor_number: str, permit_number: str, permit_year: int) -> PermitKey:
    errors: list[FieldError] = []
    contractor = normalise_number(contractor_number)
    if contractor is None:
        errors.append(_number_error("contractor_number"))
    permit = normalise_number(permit_number)
    if permit is None:
        errors.append(_number_error("permit_number"))
    if not MIN_YEAR <= permit_year <= MAX_YEAR:
        errors.append(
            FieldError(
                "permit_year",
                f"The permit year is a year between {MIN_YEAR} and {MAX_YEAR}",
                f"سنة التصريح سنة بين {MIN_YEAR} و{MAX_YEAR}",
                "year",
            )
        )
    raise_if(errors)
    assert contractor is not None and permit is not None
    return PermitKey(contractor, permit, permit_year)


def _number_error(field: str) -> FieldError:
    return FieldError(
        field,
        "Use letters, digits, '-' or '/', up to 30 characters",
        "استخدم أحرفاً لاتينية وأرقاماً و'-' أو '/' بحد أقصى 30 خانة",
        "registry_number",
    )


def check_phone(raw: str, field: str = "phone") -> str:
    phone = normalise_phone(raw)
    if phone is None:
        raise_if(
            [
                FieldError(
                    field,
                    "Give a Jordanian mobile number, e.g. 0791234567",
                    "أدخل رقم هاتف خلوي أردني، مثل 0791234567",
                    "jordan_mobile",
                )
            ]
        )
    assert phone is not None
    return phone


def check_reason(raw: str) -> str:
    reason = " ".join(raw.split())
    if not 3 <= len(reason) <= 500:
        raise_if(
            [
                FieldError(
                    "reason",
                    "Give the renewal reason, 3 to 500 characters",
                    "أدخل سبب التجديد من 3 إلى 500 حرف",
                    "reason",
                )
            ]
        )
    return reason


def raise_if(errors: Sequence[FieldError]) -> None:
    if errors:
        raise RuleBroken(
            f"{len(errors)} field(s) are invalid; see errors.",
            f"عدد الحقول غير الصالحة: {len(errors)}",
            errors,
        )


# ---- the registry's records ------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PermitStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Contractor(Record):
    number: str
    name: LocalizedText
    classification: str
    category: str
    phone: str | None = None


class Permit(Record):
    contractor_number: str
    number: str
    year: int
    valid_from: date
    valid_to: date
    status: PermitStatus = PermitStatus.ACTIVE
    last_renewal: str | None = None

    @property
    def id(self) -> str:
        return permit_id(self.number, self.year)


def permit_ref(contractor: Contractor, permit: Permit) -> PermitRef:
    return PermitRef(
        contractor_number=contractor.number,
        contractor_name=contractor.name,
        permit_number=permit.number,
        permit_year=permit.year,
        classification=contractor.classification,
        category=contractor.category,
    )


def check_renewable(permit: Permit) -> None:
    """Only an active permit (in force or lapsed by date) is renewed online."""
    if permit.status is not PermitStatus.ACTIVE:
        raise RuleBroken(
            "This permit is suspended or revoked: it cannot be renewed online; please visit "
            "the contractors section",
            "هذا التصريح موقوف أو ملغى ولا يمكن تجديده إلكترونياً؛ يرجى مراجعة قسم المقاولين",
        )


# ---- the validity rule -----------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    year = day.year + years
    last = gregorian.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def new_validity(current_to: date, today: date, years: int = 1) -> tuple[date, date]:
    """The renewed permit's validity: `years` from the later of today and the day after the
    current expiry. A permit renewed early keeps its remaining days; a lapsed one starts today.

    2026-12-31 renewed on 2026-11-23 -> 2027-01-01 .. 2027-12-31;
    2026-06-30 renewed on 2026-11-23 -> 2026-11-23 .. 2027-11-22."""
    start = max(today, current_to + timedelta(days=1))
    return start, add_years(start, years) - timedelta(days=1)


def amman_date(instant: datetime) -> date:
    return instant.astimezone(AMMAN).date()


# ---- the fee schedule -------------------------------------------------------------------------


class FeeRule(Record):
    classification: str = Field(min_length=1)
    category: str | None = None
    fee_fils: int = Field(ge=0)


class FeeSchedule(Record):
    """Renewal fees by classification (and category), as data. The most specific rule wins;
    `default_fils` applies to a classification no rule names. Zero means free."""

    default_fils: int = Field(ge=0)
    rules: tuple[FeeRule, ...] = ()

    @model_validator(mode="after")
    def _no_duplicates(self) -> FeeSchedule:
        keys = [(rule.classification, rule.category) for rule in self.rules]
        if len(keys) != len(set(keys)):
            raise ValueError("two fee rules name the same classification and category")
        return self

    def fee_for(self, classification: str, category: str) -> int:
        for rule in self.rules:
            if rule.classification == classification and rule.category == category:
                return rule.fee_fils
        for rule in self.rules:
            if rule.classification == classification and rule.category is None:
                return rule.fee_fils
        return self.default_fils


# ---- the request -------------------------------------------------------------------------------


class RenewalRequest(Record):
    request_number: str
    owner_subject: str
    permit: PermitRef
    reason: str
    applicant: Applicant
    status: Status
    submitted_at: datetime
    valid_to_before: date
    fee_fils: int | None = None
    fee: Fee | None = None
    rejection_reason: LocalizedText | None = None
    note: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    completed_at: datetime | None = None
    cancel_cause: CancelCause | None = None
    history: tuple[TimelineEntry, ...] = ()
    version: int = 0

    @property
    def permit_id(self) -> str:
        return permit_id(self.permit.permit_number, self.permit.permit_year)

    @property
    def is_open(self) -> bool:
        return STATES[self.status].is_open


@dataclass(frozen=True)
class Raised:
    routing_key: str
    data: ContractModel


@dataclass(frozen=True)
class Change:
    request: RenewalRequest
    events: tuple[Raised, ...] = ()
    is_noop: bool = False


def _find(action: str, source: str | None, branch: str | None) -> Step:
    for step in WORKFLOW:
        if step.action == action and step.source == source and step.branch in (None, branch):
            return step
    label = steps(action)[0].label
    raise NotAllowedNow(
        f"{label.en}: not possible while the request is {source}",
        f"لا يمكن تنفيذ الإجراء ({label.ar}) في الحالة الحالية للطلب",
    )


def _moved(
    request: RenewalRequest,
    action: Action,
    actor: Actor,
    now: datetime,
    *,
    branch: str | None = None,
    why: str | None = None,
    **changes: object,
) -> RenewalRequest:
    step = _find(action, request.status, branch)
    role = actor.role_for(step)
    entry = TimelineEntry(
        at=now,
        action=action,
        source=request.status,
        target=step.target,
        by=actor.subject,
        role=role,
        why=why,
    )
    return request.model_copy(
        update={"status": Status(step.target), "history": (*request.history, entry), **changes}
    )


def _about(request: RenewalRequest) -> dict[str, object]:
    return {
        "request_number": request.request_number,
        "permit": request.permit,
        "applicant": request.applicant,
        "owner_subject": request.owner_subject,
    }


def payment_reference(request_number: str) -> str:
    return reference(SERVICE, request_number, FEE_PURPOSE)


def record_bill(request: RenewalRequest, reference: str, e_payment_number: str) -> Change:
    """Payments issued the fee's bill: keep its e-payment number, so the inquiry shows it while
    the fee waits (an SMS can be lost). Only the current fee, once; no event."""
    fee = request.fee
    if (
        request.status is not Status.AWAITING_PAYMENT
        or fee is None
        or fee.payment_reference != reference
        or fee.e_payment_number is not None
    ):
        return Change(request, is_noop=True)
    fee = fee.model_copy(update={"e_payment_number": e_payment_number})
    return Change(request.model_copy(update={"fee": fee}))


def request_number_of(value: str) -> str | None:
    parts = reference_parts(value)
    return parts[1] if parts is not None and parts[::2] == (SERVICE, FEE_PURPOSE) else None


def payment_due(calendar: WorkingCalendar, now: datetime, working_days: int) -> datetime:
    """Payable up to the last second of the n-th working day after approval."""
    return calendar.deadline_after(now, working_days) - timedelta(seconds=1)


def submit(
    *,
    request_number: str,
    owner: Actor,
    contractor: Contractor,
    permit: Permit,
    reason: str,
    phone: str,
    lang: Literal["ar", "en"],
    now: datetime,
) -> Change:
    """Seed 001, step 2: submitted with a verified phone -> SMS with the request number."""
    check_renewable(permit)
    step = _find(Action.SUBMIT, None, None)
    role = owner.role_for(step)
    request = RenewalRequest(
        request_number=request_number,
        owner_subject=owner.subject,
        permit=permit_ref(contractor, permit),
        reason=reason,
        applicant=Applicant(name=contractor.name.ar, phone=phone, lang=lang),
        status=Status(step.target),
        submitted_at=now,
        valid_to_before=permit.valid_to,
        history=(
            TimelineEntry(
                at=now,
                action=Action.SUBMIT,
                source=None,
                target=step.target,
                by=owner.subject,
                role=role,
            ),
        ),
    )
    event = RenewalSubmitted(**_about(request), reason=reason, submitted_at=now)
    return Change(request, (Raised("contractors.renewal.submitted.v1", event),))


def fee_description(request: RenewalRequest) -> LocalizedText:
    """What the bill is for (its SMS shows the first 30 letters)."""
    return LocalizedText(
        ar=f"تجديد تصريح مقاول {request.permit.permit_number}",
        en=f"Contractor permit renewal {request.permit.permit_number}",
    )


def approve(
    request: RenewalRequest,
    actor: Actor,
    now: datetime,
    *,
    fees: FeeSchedule,
    permit: Permit,
    payment_due_at: datetime,
    note: str | None,
) -> Change:
    """A reviewer approves. With a fee: payments is asked for it. Free: completed at once, the
    new validity computed from the permit as the registry holds it now."""
    fee = fees.fee_for(request.permit.classification, request.permit.category)
    if fee == 0:
        approved = _moved(
            request, Action.APPROVE, actor, now, branch=Branch.FREE, why=note, fee_fils=0, note=note
        )
        event = RenewalApproved(**_about(request), fee_fils=0, approved_at=now)
        completion = _completed(approved, permit, now, e_payment_number=None)
        return Change(
            completion.request,
            (Raised("contractors.renewal.approved.v1", event), *completion.events),
        )
    reference = payment_reference(request.request_number)
    moved = _moved(
        request,
        Action.APPROVE,
        actor,
        now,
        branch=Branch.FEE,
        why=note,
        fee_fils=fee,
        note=note,
        fee=Fee(payment_reference=reference, amount_fils=fee, due_at=payment_due_at),
    )
    approved_event = RenewalApproved(
        **_about(request),
        fee_fils=fee,
        payment_reference=reference,
        payment_due_at=payment_due_at,
        approved_at=now,
    )
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request.request_number,
        amount_fils=fee,
        description=fee_description(request),
        due_at=payment_due_at,
        payer=request.applicant,
        service_type=SERVICE_TYPE,
        owner_subject=request.owner_subject,
    )
    return Change(
        moved,
        (
            Raised("contractors.renewal.approved.v1", approved_event),
            Raised("contractors.payment.requested.v1", payment),
        ),
    )


def reject(
    request: RenewalRequest, actor: Actor, now: datetime, *, reason: LocalizedText
) -> Change:
    moved = _moved(request, Action.REJECT, actor, now, why=reason.en, rejection_reason=reason)
    event = RenewalRejected(**_about(request), reason=reason, rejected_at=now)
    return Change(moved, (Raised("contractors.renewal.rejected.v1", event),))


def _completed(
    request: RenewalRequest, permit: Permit, now: datetime, *, e_payment_number: str | None
) -> Change:
    """The renewal is complete: the new validity, for the request, the registry and the SMS.

    `request` is already in `completed` (the free branch) or is moved there (paid)."""
    valid_from, valid_to = new_validity(permit.valid_to, amman_date(now))
    request = request.model_copy(
        update={"valid_from": valid_from, "valid_to": valid_to, "completed_at": now}
    )
    event = RenewalCompleted(
        **_about(request),
        valid_from=valid_from,
        valid_to=valid_to,
        fee_fils=request.fee_fils or 0,
        e_payment_number=e_payment_number,
        completed_at=now,
    )
    return Change(request, (Raised("contractors.renewal.completed.v1", event),))


@dataclass(frozen=True)
class PaymentMade:
    e_payment_number: str
    amount_fils: int
    paid_at: datetime


def record_payment(
    request: RenewalRequest, paid: PaymentMade, permit: Permit | None, now: datetime
) -> Change:
    """Paid -> completed with the new validity. Paid again changes nothing; paid after the
    request was cancelled -> the money is asked back, once."""
    if request.status is Status.CANCELLED and request.fee is not None:
        if request.fee.refund_requested_at is not None:
            return Change(request, is_noop=True)
        return _refund_late_payment(request, paid, now)
    if request.status is not Status.AWAITING_PAYMENT or request.fee is None:
        return Change(request, is_noop=True)
    fee = request.fee.model_copy(
        update={"e_payment_number": paid.e_payment_number, "paid_at": paid.paid_at}
    )
    if permit is None:
        raise NotAllowedNow(
            f"permit {request.permit.permit_number} is not in the registry",
            "التصريح غير موجود في السجل",
        )
    moved = _moved(request, Action.PAY, system("payments"), now, fee=fee)
    return _completed(moved, permit, now, e_payment_number=paid.e_payment_number)


def _refund_late_payment(request: RenewalRequest, paid: PaymentMade, now: datetime) -> Change:
    assert request.fee is not None
    fee = request.fee.model_copy(
        update={
            "e_payment_number": paid.e_payment_number,
            "paid_at": paid.paid_at,
            "refund_requested_at": now,
        }
    )
    moved = _moved(
        request,
        Action.REFUND_LATE_PAYMENT,
        system("payments"),
        now,
        why=f"e-payment number {paid.e_payment_number}",
        fee=fee,
    )
    refund = RefundRequested(
        payment_reference=request.fee.payment_reference,
        refund_reference=f"{SERVICE}:{request.request_number}:late_payment_refund",
        request_number=request.request_number,
        amount_fils=paid.amount_fils,
        reason=LocalizedText(
            ar="دُفعت رسوم التجديد بعد إلغاء الطلب",
            en="Renewal fee paid after the request was cancelled",
        ),
        needs_approval=False,
        payer=request.applicant,
    )
    return Change(moved, (Raised("contractors.refund.requested.v1", refund),))


def cancel_unpaid(request: RenewalRequest, now: datetime, cause: CancelCause) -> Change:
    """The bill expired (or was cancelled) unpaid: the renewal is cancelled, the applicant told;
    they may submit a new one (the permit is free for it again)."""
    if request.status is not Status.AWAITING_PAYMENT:
        return Change(request, is_noop=True)
    action = Action.EXPIRE if cause == "payment_expired" else Action.CANCEL
    moved = _moved(request, action, system("payments"), now, cancel_cause=cause)
    event = RenewalCancelled(
        **_about(request),
        cause=cause,
        payment_due_at=request.fee.due_at if request.fee else None,
        at=now,
    )
    return Change(moved, (Raised("contractors.renewal.cancelled.v1", event),))


# ---- what the inquiry shows ------------------------------------------------------------------


def amman_time(instant: datetime) -> str:
    return instant.astimezone(AMMAN).strftime("%d/%m/%Y %H:%M")


def day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def fils_as_jod(fils: int) -> str:
    dinars, rest = divmod(fils, 1000)
    return f"{dinars}.{rest:03d}"


@dataclass(frozen=True)
class TimelineLine:
    entry: TimelineEntry
    label: LocalizedText
    target_label: LocalizedText


@dataclass(frozen=True)
class Inquiry:
    status_label: LocalizedText
    next_step: LocalizedText | None
    timeline: tuple[TimelineLine, ...]


def inquiry(request: RenewalRequest) -> Inquiry:
    state = STATES[request.status]
    values = {
        "fee": fils_as_jod(request.fee.amount_fils) if request.fee else "",
        "due": amman_time(request.fee.due_at) if request.fee else "",
        "valid_from": day_text(request.valid_from) if request.valid_from else "",
        "valid_to": day_text(request.valid_to) if request.valid_to else "",
    }
    next_step = (
        None
        if state.next_en is None or state.next_ar is None
        else LocalizedText(en=state.next_en.format_map(values), ar=state.next_ar.format_map(values))
    )
    return Inquiry(
        status_label=state.label,
        next_step=next_step,
        timeline=tuple(
            TimelineLine(
                entry=entry, label=_entry_label(entry), target_label=STATES[entry.target].label
            )
            for entry in request.history
        ),
    )


def _entry_label(entry: TimelineEntry) -> LocalizedText:
    step = workflow.move_of(WORKFLOW, entry.action, entry.source, entry.target)
    return step.label if step else steps(entry.action)[0].label


def status_label(status: Status) -> LocalizedText:
    return STATES[status].label
