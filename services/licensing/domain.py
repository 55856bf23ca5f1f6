"""A first professional licence inside a camp (seed 000): states, the workflow table, every rule.

Pure: no I/O. A **request** is created as a draft, gets its attachments, and is submitted; then
the clerk checks the documents (step 2, repeatable), the inspector schedules and records the
inspection (steps 3-4, repeatable after a rectification), the committee decides (step 5), asking
other authorities first when needed (steps 6-7); an approved request is billed (step 8) and the
licence issued on payment (step 9). Each function takes the current request and returns a
`Change` (the new request, its history entries and the events to publish) or raises a
`DomainError`; the functions reacting to events return None when there is nothing to do (a
redelivery, or a state that moved on), so a second delivery changes nothing.

The 3-working-day target is tracked as an SLA (see `SLA_WORKING_DAYS` and `_sla`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import partial
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from contracts import (
    Applicant,
    ContractModel,
    LocalizedText,
    PaymentCancelled,
    PaymentRequested,
    reference,
)
from contracts.licensing import (
    CommitteeDecided,
    DocumentIssue,
    DocumentsRejected,
    ExternalApprovalRefused,
    ExternalApprovalRequired,
    InspectionScheduled,
    LicenceIssued,
    LicensingRequestDetails,
    LicensingRequestSubmitted,
    LicensingRequestWithdrawn,
    PaymentExpired,
    RectificationRequired,
)
from contracts.payments import RefundRequested
from services.common import workflow
from services.common.calendar import WorkingCalendar
from services.common.errors import DomainError as DomainError
from services.common.errors import NotAllowedNow as NotAllowedNow
from services.common.errors import RuleBroken as RuleBroken
from services.common.workflow import HistoryEntry as HistoryEntry
from services.licensing.reference import CIVIL_DEFENCE, Authority

SERVICE = "licensing"
REQUEST_PREFIX = "LC"
LICENCE_PREFIX = "PL"

CITIZEN = "citizen"
CLERK = "licensing.clerk"  # the document check, recording external approvals on paper
INSPECTOR = "licensing.inspector"
COMMITTEE = "licensing.committee"
# Another authority's system (e.g. Civil Defence): records its own approval, nothing else.
EXTERNAL_AUTHORITY = "licensing.external_authority"
STAFF_ROLES = (CLERK, INSPECTOR, COMMITTEE)
SYSTEM = "system"
PAYMENTS = "payments"

# Seed 000: "وقت انجاز الخدمة: 3 أيام عمل".
SLA_WORKING_DAYS = 3


class RequestStatus(StrEnum):
    DRAFT = "draft"
    DOCUMENT_CHECK = "document_check"
    AWAITING_DOCUMENTS = "awaiting_documents"
    INSPECTION_PENDING = "inspection_pending"
    INSPECTION_SCHEDULED = "inspection_scheduled"
    RECTIFICATION = "rectification"
    COMMITTEE_REVIEW = "committee_review"
    AWAITING_EXTERNAL_APPROVALS = "awaiting_external_approvals"
    AWAITING_PAYMENT = "awaiting_payment"
    PAYMENT_EXPIRED = "payment_expired"
    LICENSED = "licensed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class RequestAction(StrEnum):
    CREATE = "create"
    ATTACH_DOCUMENT = "attach_document"
    SUBMIT = "submit"
    RESUBMIT = "resubmit"
    ACCEPT_DOCUMENTS = "accept_documents"
    REJECT_DOCUMENTS = "reject_documents"
    SCHEDULE_INSPECTION = "schedule_inspection"
    RECORD_COMPLIANT = "record_compliant"
    RECORD_NON_COMPLIANT = "record_non_compliant"
    APPROVE = "approve"
    REFUSE = "refuse"
    REQUIRE_EXTERNAL_APPROVALS = "require_external_approvals"
    RECORD_EXTERNAL_APPROVAL = "record_external_approval"
    RECORD_EXTERNAL_REFUSAL = "record_external_refusal"
    PAY = "pay"
    EXPIRE_BILL = "expire_bill"
    REQUEST_NEW_BILL = "request_new_bill"
    WITHDRAW = "withdraw"


S = RequestStatus
A = RequestAction

# Where the SLA clock stands in each state: `running` while the municipality has the next move,
# `paused` while waiting for the applicant (corrections, rectification) or another authority,
# `stopped` once the committee decided (the licence follows payment automatically) or the request
# ended, `not_started` for a draft.
SlaPhase = Literal["not_started", "running", "paused", "stopped"]


@dataclass(frozen=True)
class State:
    status: RequestStatus
    label_en: str
    label_ar: str
    next_en: str
    next_ar: str
    sla: SlaPhase


REQUEST_STATES: tuple[State, ...] = (
    State(S.DRAFT, "Draft", "مسودة", "Attach the documents and submit the request",
          "إرفاق الوثائق وتقديم الطلب", "not_started"),
    State(S.DOCUMENT_CHECK, "Documents under check", "قيد تدقيق الوثائق",
          "The municipality checks the attachments", "تدقيق المرفقات من قبل الأمانة", "running"),
    State(S.AWAITING_DOCUMENTS, "Awaiting corrected documents", "بانتظار تصحيح الوثائق",
          "Replace the documents named in the SMS and resubmit",
          "استبدال الوثائق المذكورة في الرسالة وإعادة تقديم الطلب", "paused"),
    State(S.INSPECTION_PENDING, "Awaiting an inspection appointment", "بانتظار تحديد موعد الكشف",
          "The municipality sets the inspection appointment", "تحديد موعد الكشف من قبل الأمانة",
          "running"),
    State(S.INSPECTION_SCHEDULED, "Inspection scheduled", "تم تحديد موعد الكشف",
          "Be at the premises at the appointment", "التواجد في الموقع في موعد الكشف", "running"),
    State(S.RECTIFICATION, "Rectification required", "مطلوب تصويب الأوضاع",
          "Rectify the findings; a re-inspection will be scheduled",
          "تصويب الأوضاع حسب الملاحظات، وسيُحدَّد موعد لإعادة الكشف", "paused"),
    State(S.COMMITTEE_REVIEW, "Before the committee", "معروض على اللجنة المعنية",
          "The responsible committee decides", "قرار اللجنة المعنية", "running"),
    State(S.AWAITING_EXTERNAL_APPROVALS, "Awaiting external approvals",
          "بانتظار الموافقات الخارجية", "The authorities named in the SMS decide",
          "قرار الجهات المذكورة في الرسالة", "paused"),
    State(S.AWAITING_PAYMENT, "Approved, awaiting payment", "موافق عليه، بانتظار دفع الرسوم",
          "Pay the fee by the e-payment number", "دفع الرسوم برقم الدفع الإلكتروني", "stopped"),
    State(S.PAYMENT_EXPIRED, "E-payment number expired", "انتهت صلاحية رقم الدفع",
          "Ask for a new e-payment number, or withdraw the request",
          "طلب رقم دفع إلكتروني جديد، أو سحب الطلب", "stopped"),
    State(S.LICENSED, "Licence issued", "صدرت الرخصة", "", "", "stopped"),
    State(S.REFUSED, "Not approved", "غير موافق عليه", "", "", "stopped"),
    State(S.WITHDRAWN, "Withdrawn", "مسحوب", "", "", "stopped"),
)  # fmt: skip

STATES = {state.status: state for state in REQUEST_STATES}
FINAL = (S.LICENSED, S.REFUSED, S.WITHDRAWN)
OPEN = tuple(state.status for state in REQUEST_STATES if state.status not in FINAL)


# ---- the workflow, as data -------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One allowed move: `action` takes a request from `source` to `target`, by `roles`;
    `trigger` says who or what starts it (and the seed's step it is)."""

    action: RequestAction
    source: RequestStatus | None
    target: RequestStatus
    trigger: str
    label_en: str
    label_ar: str
    roles: tuple[str, ...] = ()


_EXTERNAL_RECORDERS = (CLERK, COMMITTEE, EXTERNAL_AUTHORITY)

REQUEST_WORKFLOW: tuple[Step, ...] = (
    Step(A.CREATE, None, S.DRAFT, "citizen", "Request created", "أُنشئ الطلب", (CITIZEN,)),
    Step(A.ATTACH_DOCUMENT, S.DRAFT, S.DRAFT, "citizen", "Document attached", "أُرفقت وثيقة",
         (CITIZEN,)),
    Step(A.ATTACH_DOCUMENT, S.AWAITING_DOCUMENTS, S.AWAITING_DOCUMENTS, "citizen",
         "Document replaced", "استُبدلت وثيقة", (CITIZEN,)),
    Step(A.SUBMIT, S.DRAFT, S.DOCUMENT_CHECK, "citizen: step 1 (SMS with the number)",
         "Request submitted and accepted", "قُدّم الطلب وقُبل", (CITIZEN,)),
    Step(A.RESUBMIT, S.AWAITING_DOCUMENTS, S.DOCUMENT_CHECK, "citizen: the documents replaced",
         "Request resubmitted", "أُعيد تقديم الطلب", (CITIZEN,)),
    Step(A.ACCEPT_DOCUMENTS, S.DOCUMENT_CHECK, S.INSPECTION_PENDING, "clerk",
         "Documents accepted", "قُبلت الوثائق", (CLERK,)),
    Step(A.REJECT_DOCUMENTS, S.DOCUMENT_CHECK, S.AWAITING_DOCUMENTS,
         "clerk: step 2 (SMS naming them)", "Documents missing or wrong",
         "وثائق ناقصة أو غير صحيحة", (CLERK,)),
    Step(A.SCHEDULE_INSPECTION, S.INSPECTION_PENDING, S.INSPECTION_SCHEDULED,
         "inspector: step 3 (SMS with the appointment)", "Inspection scheduled",
         "حُدّد موعد الكشف", (INSPECTOR,)),
    Step(A.SCHEDULE_INSPECTION, S.INSPECTION_SCHEDULED, S.INSPECTION_SCHEDULED,
         "inspector: a new appointment (SMS)", "Inspection rescheduled", "عُدّل موعد الكشف",
         (INSPECTOR,)),
    Step(A.SCHEDULE_INSPECTION, S.RECTIFICATION, S.INSPECTION_SCHEDULED,
         "inspector: re-inspection, step 3 again (SMS)", "Re-inspection scheduled",
         "حُدّد موعد إعادة الكشف", (INSPECTOR,)),
    Step(A.RECORD_COMPLIANT, S.INSPECTION_SCHEDULED, S.COMMITTEE_REVIEW, "inspector",
         "Premises compliant", "الموقع مطابق للشروط", (INSPECTOR,)),
    Step(A.RECORD_NON_COMPLIANT, S.INSPECTION_SCHEDULED, S.RECTIFICATION,
         "inspector: step 4 (SMS with the findings)", "Premises not compliant: rectify",
         "الموقع غير مطابق: تصويب الأوضاع", (INSPECTOR,)),
    Step(A.APPROVE, S.COMMITTEE_REVIEW, S.AWAITING_PAYMENT,
         "committee: steps 5 and 8 (SMS; the bill follows)", "Approved by the committee",
         "وافقت اللجنة المعنية", (COMMITTEE,)),
    Step(A.REFUSE, S.COMMITTEE_REVIEW, S.REFUSED, "committee: step 5 (SMS with the reasons)",
         "Not approved by the committee", "لم توافق اللجنة المعنية", (COMMITTEE,)),
    Step(A.REQUIRE_EXTERNAL_APPROVALS, S.COMMITTEE_REVIEW, S.AWAITING_EXTERNAL_APPROVALS,
         "committee: step 6 (SMS naming them)", "External approvals required",
         "مطلوب موافقات خارجية", (COMMITTEE,)),
    Step(A.RECORD_EXTERNAL_APPROVAL, S.AWAITING_EXTERNAL_APPROVALS,
         S.AWAITING_EXTERNAL_APPROVALS, "staff or the authority's system: others still pending",
         "External approval given", "صدرت موافقة خارجية", _EXTERNAL_RECORDERS),
    Step(A.RECORD_EXTERNAL_APPROVAL, S.AWAITING_EXTERNAL_APPROVALS, S.COMMITTEE_REVIEW,
         "staff or the authority's system: the last one", "All external approvals given",
         "صدرت جميع الموافقات الخارجية", _EXTERNAL_RECORDERS),
    Step(A.RECORD_EXTERNAL_REFUSAL, S.AWAITING_EXTERNAL_APPROVALS, S.REFUSED,
         "staff or the authority's system: step 7 (SMS)", "External approval refused",
         "لم تصدر الموافقة الخارجية", _EXTERNAL_RECORDERS),
    Step(A.PAY, S.AWAITING_PAYMENT, S.LICENSED,
         "payments: payments.bill.paid.v1, step 9 (SMS with the link)",
         "Fee paid, licence issued", "دُفعت الرسوم وصدرت الرخصة"),
    Step(A.EXPIRE_BILL, S.AWAITING_PAYMENT, S.PAYMENT_EXPIRED,
         "payments: payments.bill.expired.v1 or .cancelled.v1 (SMS)",
         "E-payment number expired", "انتهت صلاحية رقم الدفع"),
    Step(A.REQUEST_NEW_BILL, S.PAYMENT_EXPIRED, S.AWAITING_PAYMENT,
         "citizen: a new e-payment number", "New e-payment number requested",
         "طُلب رقم دفع إلكتروني جديد", (CITIZEN,)),
    *(
        Step(A.WITHDRAW, source, S.WITHDRAWN, "citizen (SMS)", "Withdrawn by the applicant",
             "سحب مقدم الطلب طلبه", (CITIZEN,))
        for source in OPEN
    ),
)  # fmt: skip

# What the shared workflow machinery derives from the table (role checks, README); withdrawals,
# possible from every open state, are one note in the diagram and one row in the table.
_FOLD: Mapping[str, str] = {A.WITHDRAW: "any open state"}
roles_for = partial(workflow.roles_for, REQUEST_WORKFLOW)
state_diagram = partial(workflow.state_diagram, REQUEST_WORKFLOW, FINAL, fold=_FOLD)
transitions_table = partial(workflow.transitions_table, REQUEST_WORKFLOW, fold=_FOLD)


def label(action: str, source: str | None, target: str) -> LocalizedText:
    move = workflow.move_of(REQUEST_WORKFLOW, action, source, target)
    return (
        LocalizedText(ar=move.label_ar, en=move.label_en)
        if move
        else LocalizedText(ar=action, en=action)
    )


def states_table() -> str:
    lines = ["| state | label (en) | label (ar) | next step | SLA clock |", "|---|---|---|---|---|"]
    for state in REQUEST_STATES:
        lines.append(
            f"| `{state.status.value}` | {state.label_en} | {state.label_ar} | "
            f"{state.next_en or '(closed)'} | {state.sla} |"
        )
    return "\n".join(lines)


# ---- the aggregate ---------------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


DocumentKind = Literal["occupancy_permit", "lease_contract", "allocation_document"]
Tenure = Literal["rented", "allocated"]

DOCUMENT_NAMES: dict[str, LocalizedText] = {
    "occupancy_permit": LocalizedText(
        ar="إذن الإشغال الصادر عن دائرة الشؤون الفلسطينية",
        en="occupancy permit from the Department of Palestinian Affairs",
    ),
    "lease_contract": LocalizedText(ar="عقد الإيجار", en="lease contract"),
    "allocation_document": LocalizedText(
        ar="وثيقة تخصيص الوحدة السكنية", en="housing-unit allocation document"
    ),
}


def required_documents(tenure: Tenure) -> tuple[DocumentKind, ...]:
    """Seed 000: the occupancy permit, and a lease (rented) or the allocation document."""
    return ("occupancy_permit", "lease_contract" if tenure == "rented" else "allocation_document")


class Document(Record):
    """An attachment: the file is in the service's GridFS bucket, checked by its bytes and size."""

    kind: str
    file_id: str
    content_type: str
    size: int
    filename: str
    uploaded_at: datetime


class Business(Record):
    establishment_name: str
    establishment_number: str


class ExternalApproval(Record):
    authority_code: str
    authority: LocalizedText
    status: Literal["pending", "given", "refused"] = "pending"
    reference: str | None = None
    note: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime | None = None


class Licence(Record):
    number: str
    token: str
    issued_at: datetime
    valid_until: datetime
    e_payment_number: str


class LicenceRequest(Record):
    number: str
    owner_subject: str
    applicant: Applicant
    applicant_kind: Literal["individual", "business"]
    id_type: Literal["national", "residence"]
    business: Business | None = None
    camp_code: str
    camp: LocalizedText
    profession_code: str
    profession: LocalizedText
    area_m2: float
    fee_fils: int
    trade_name: str
    address: str
    tenure: Tenure
    status: RequestStatus = S.DRAFT
    version: int = 1
    created_at: datetime
    submitted_at: datetime | None = None
    documents: tuple[Document, ...] = ()
    # Flagged by the last document check; each must be uploaded again before resubmitting.
    documents_to_replace: tuple[str, ...] = ()
    document_checks: int = 0
    inspection_at: datetime | None = None
    inspections: int = 0
    findings: str | None = None
    external_approvals: tuple[ExternalApproval, ...] = ()
    decision_reasons: str | None = None
    bills: int = 0
    payment_reference: str | None = None
    e_payment_number: str | None = None
    # The pending bill's amount and last instant, from payments.bill.issued (for the inquiry).
    bill_amount_fils: int | None = None
    bill_due_at: datetime | None = None
    is_refund_requested: bool = False
    licence: Licence | None = None
    # The SLA: the target instant (moved on by paused working days), when the clock was paused,
    # the sweeper's next look, and when the target was missed.
    sla_due_at: datetime | None = None
    sla_paused_at: datetime | None = None
    sla_check_at: datetime | None = None
    sla_breached_at: datetime | None = None
    sla_stopped_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()

    def document(self, kind: str) -> Document | None:
        return next((d for d in self.documents if d.kind == kind), None)

    def details(self) -> LicensingRequestDetails:
        return LicensingRequestDetails(
            trade_name=self.trade_name,
            profession_code=self.profession_code,
            profession=self.profession,
            camp_code=self.camp_code,
            camp=self.camp,
            area_m2=self.area_m2,
            establishment_name=self.business.establishment_name if self.business else None,
        )

    def _base(self) -> dict[str, object]:
        return {
            "request_number": self.number,
            "request": self.details(),
            "applicant": self.applicant,
            "owner_subject": self.owner_subject,
        }


Event = tuple[str, ContractModel]


@dataclass(frozen=True)
class Change:
    """A request's new value, the history entries it gained and the events it publishes."""

    request: LicenceRequest
    entries: tuple[HistoryEntry, ...] = ()
    events: tuple[Event, ...] = ()
    # The SLA target was missed by this change (the metric counts it once).
    breached: bool = False


# ---- the SLA ---------------------------------------------------------------------------------


def _end_of_day(calendar: WorkingCalendar, day_end: datetime, extra_working_days: int) -> datetime:
    """`day_end` (an end-of-working-day instant) moved on by `extra_working_days`."""
    zone = ZoneInfo(calendar.tz)
    last_day = calendar.local_date(day_end - timedelta(microseconds=1))
    moved = calendar.add_working_days(last_day, extra_working_days)
    return datetime.combine(moved + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


def _sla(
    before: LicenceRequest, after: LicenceRequest, now: datetime, calendar: WorkingCalendar
) -> tuple[dict[str, object], bool]:
    """The SLA fields after a move from `before`'s state to `after`'s, and whether it breached.

    The clock runs while the municipality has the next move. Time waiting for the applicant
    (corrections, rectification) or for another authority pauses it, as government practice
    counts it: each working day that begins while paused moves the target on by one working day.
    It stops at the committee's decision (the licence follows the payment automatically).
    """
    was, will = STATES[before.status].sla, STATES[after.status].sla
    if was == will:
        return {}, False
    updates: dict[str, object] = {}
    due = before.sla_due_at
    if will == "running":
        if due is None:
            due = calendar.deadline_after(now, SLA_WORKING_DAYS)
        elif before.sla_paused_at is not None:
            paused_days = calendar.working_days_between(
                calendar.local_date(before.sla_paused_at), calendar.local_date(now)
            )
            if before.sla_breached_at is None:
                due = _end_of_day(calendar, due, paused_days)
        updates.update(sla_due_at=due, sla_paused_at=None, sla_check_at=due)
        if before.sla_breached_at is None and due is not None and now >= due:
            updates.update(sla_breached_at=now, sla_check_at=None)
            return updates, True
        if before.sla_breached_at is not None:
            updates["sla_check_at"] = None
        return updates, False
    updates["sla_check_at"] = None
    breached = False
    if was == "running" and due is not None and before.sla_breached_at is None and now >= due:
        updates["sla_breached_at"] = now
        breached = True
    if will == "paused":
        updates["sla_paused_at"] = now
    if will == "stopped":
        updates.update(sla_stopped_at=now, sla_paused_at=None)
    return updates, breached


def is_overdue(request: LicenceRequest, now: datetime) -> bool:
    """Open and past its target: running now past it, or paused after passing it."""
    if request.status in FINAL or request.sla_due_at is None:
        return False
    phase = STATES[request.status].sla
    if phase == "running":
        return now >= request.sla_due_at
    if phase == "paused":
        return request.sla_breached_at is not None
    return False


def check_sla(request: LicenceRequest, now: datetime) -> Change:
    """The sweeper's look at `sla_check_at`: record the breach once, stop looking."""
    if (
        STATES[request.status].sla == "running"
        and request.sla_breached_at is None
        and request.sla_due_at is not None
        and now >= request.sla_due_at
    ):
        return Change(
            request.model_copy(update={"sla_breached_at": now, "sla_check_at": None}),
            breached=True,
        )
    return Change(request.model_copy(update={"sla_check_at": None}))


# ---- moves -----------------------------------------------------------------------------------


def _move(
    request: LicenceRequest,
    action: RequestAction,
    now: datetime,
    by: str,
    calendar: WorkingCalendar,
    *events: Event,
    reason: str | None = None,
    target: RequestStatus | None = None,
    **updates: object,
) -> Change:
    candidates = [s for s in REQUEST_WORKFLOW if s.action is action and s.source == request.status]
    move = next((s for s in candidates if target is None or s.target is target), None)
    if move is None:
        raise NotAllowedNow(
            f"'{action.value}' is not possible while the request is "
            f"'{STATES[request.status].label_en}'.",
            f"لا يمكن تنفيذ الإجراء '{action.value}' والطلب في حالة "
            f"'{STATES[request.status].label_ar}'.",
        )
    entry = HistoryEntry(
        at=now, action=action, source=request.status, target=move.target, by=by, reason=reason
    )
    moved = request.model_copy(update={**updates, "status": move.target})
    sla_updates, breached = _sla(request, moved, now, calendar)
    updated = moved.model_copy(update={**sla_updates, "history": (*request.history, entry)})
    return Change(updated, (entry,), events, breached)


def create(
    number: str,
    owner: str,
    now: datetime,
    **fields: object,
) -> Change:
    """A new draft (no SMS: the number is sent when the request is submitted)."""
    entry = HistoryEntry(at=now, action=A.CREATE, source=None, target=S.DRAFT, by=owner)
    request = LicenceRequest.model_validate(
        {
            **fields,
            "number": number,
            "owner_subject": owner,
            "created_at": now,
            "status": S.DRAFT,
            "history": (entry,),
        }
    )
    return Change(request, (entry,))


def attach_document(
    request: LicenceRequest, document: Document, now: datetime, calendar: WorkingCalendar
) -> tuple[Change, Document | None]:
    """Attach (or replace) one document; returns the change and the document it replaces."""
    if document.kind not in required_documents(request.tenure):
        raise RuleBroken(
            f"This request does not take a '{document.kind}': it needs "
            f"{', '.join(required_documents(request.tenure))}.",
            f"هذا الطلب لا يتطلب '{DOCUMENT_NAMES[document.kind].ar}'.",
            field="kind",
        )
    replaced = request.document(document.kind)
    documents = (*(d for d in request.documents if d.kind != document.kind), document)
    to_replace = tuple(k for k in request.documents_to_replace if k != document.kind)
    change = _move(
        request, A.ATTACH_DOCUMENT, now, request.owner_subject, calendar,
        reason=document.kind, documents=documents, documents_to_replace=to_replace,
    )  # fmt: skip
    return change, replaced


def submit(request: LicenceRequest, now: datetime, calendar: WorkingCalendar) -> Change:
    """Step 1 (a draft) or a resubmission after the documents were replaced (step 2 again)."""
    missing = [k for k in required_documents(request.tenure) if request.document(k) is None]
    if missing:
        names = DOCUMENT_NAMES
        raise RuleBroken(
            "Attach the required documents first: " + ", ".join(names[k].en for k in missing) + ".",
            "يرجى إرفاق الوثائق المطلوبة أولاً: " + "، ".join(names[k].ar for k in missing) + ".",
            field="documents",
        )
    if request.status is S.AWAITING_DOCUMENTS:
        if request.documents_to_replace:
            names = DOCUMENT_NAMES
            kinds = request.documents_to_replace
            raise RuleBroken(
                "Replace these documents first: " + ", ".join(names[k].en for k in kinds) + ".",
                "يرجى استبدال هذه الوثائق أولاً: " + "، ".join(names[k].ar for k in kinds) + ".",
                field="documents",
            )
        return _move(request, A.RESUBMIT, now, request.owner_subject, calendar)
    change = _move(request, A.SUBMIT, now, request.owner_subject, calendar, submitted_at=now)
    submitted = change.request
    assert submitted.sla_due_at is not None
    event = LicensingRequestSubmitted.model_validate(
        {
            **submitted._base(),
            "submitted_at": now,
            "fee_fils": submitted.fee_fils,
            "target_at": submitted.sla_due_at,
        }
    )
    return Change(submitted, change.entries, (("licensing.request.submitted.v1", event),))


def check_documents(
    request: LicenceRequest,
    issues: Sequence[tuple[str, Literal["missing", "wrong"], str | None]],
    now: datetime,
    by: str,
    calendar: WorkingCalendar,
) -> Change:
    """Step 2: no issue, the documents are accepted; else the applicant is told which ones."""
    if not issues:
        return _move(request, A.ACCEPT_DOCUMENTS, now, by, calendar)
    required = required_documents(request.tenure)
    kinds = [kind for kind, _, _ in issues]
    for kind in kinds:
        if kind not in required:
            raise RuleBroken(
                f"'{kind}' is not a document of this request ({', '.join(required)}).",
                f"'{kind}' ليست من وثائق هذا الطلب.",
                field="issues",
            )
    if len(set(kinds)) != len(kinds):
        raise RuleBroken("Name each document once.", "يرجى ذكر كل وثيقة مرة واحدة.", field="issues")
    count = request.document_checks + 1
    event = DocumentsRejected.model_validate(
        {
            **request._base(),
            "documents": [
                DocumentIssue(document=kind, name=DOCUMENT_NAMES[kind], issue=issue, note=note)
                for kind, issue, note in issues
            ],
            "check_count": count,
        }
    )
    return _move(
        request, A.REJECT_DOCUMENTS, now, by, calendar,
        ("licensing.request.documents_rejected.v1", event),
        reason="; ".join(f"{kind}: {issue}" for kind, issue, _ in issues),
        documents_to_replace=tuple(kinds), document_checks=count,
    )  # fmt: skip


def schedule_inspection(
    request: LicenceRequest,
    inspection_at: datetime,
    now: datetime,
    by: str,
    calendar: WorkingCalendar,
) -> Change:
    """Step 3 (and 3 again after a rectification, or a new appointment)."""
    if inspection_at <= now:
        raise RuleBroken(
            "The appointment must be in the future.", "يجب أن يكون موعد الكشف لاحقاً.",
            field="inspection_at",
        )  # fmt: skip
    if inspection_at > now + timedelta(days=60):
        raise RuleBroken(
            "The appointment must be within 60 days.",
            "يجب أن يكون موعد الكشف خلال 60 يوماً.",
            field="inspection_at",
        )
    if (why := calendar.why_closed(calendar.local_date(inspection_at))) is not None:
        raise RuleBroken(
            f"The appointment falls on a day the municipality is closed ({why}).",
            "موعد الكشف في يوم عطلة.",
            field="inspection_at",
        )
    is_reinspection = request.status is S.RECTIFICATION or (
        request.status is S.INSPECTION_SCHEDULED and request.findings is not None
    )
    event = InspectionScheduled.model_validate(
        {**request._base(), "inspection_at": inspection_at, "is_reinspection": is_reinspection}
    )
    return _move(
        request, A.SCHEDULE_INSPECTION, now, by, calendar,
        ("licensing.request.inspection_scheduled.v1", event),
        reason=inspection_at.isoformat(), inspection_at=inspection_at,
    )  # fmt: skip


def record_inspection(
    request: LicenceRequest,
    compliant: bool,
    findings: str | None,
    now: datetime,
    by: str,
    calendar: WorkingCalendar,
) -> Change:
    """After the visit: compliant, to the committee; not compliant, step 4 (rectify)."""
    if (
        request.status is S.INSPECTION_SCHEDULED
        and request.inspection_at is not None
        and now < request.inspection_at - timedelta(hours=1)
    ):
        raise NotAllowedNow(
            "The inspection's result can be recorded only from its appointment on.",
            "لا يمكن تسجيل نتيجة الكشف قبل موعده.",
        )
    inspections = request.inspections + 1
    if compliant:
        return _move(
            request, A.RECORD_COMPLIANT, now, by, calendar, reason=findings,
            inspections=inspections,
        )  # fmt: skip
    if not findings:
        raise RuleBroken(
            "Name the findings to rectify.", "يرجى ذكر الملاحظات المطلوب تصويبها.", field="findings"
        )
    event = RectificationRequired.model_validate(
        {**request._base(), "findings": findings, "inspected_at": now}
    )
    return _move(
        request, A.RECORD_NON_COMPLIANT, now, by, calendar,
        ("licensing.request.rectification_required.v1", event),
        reason=findings, findings=findings, inspections=inspections,
    )  # fmt: skip


def payment_reference(number: str, bill: int) -> str:
    return reference(SERVICE, number, "fee" if bill == 1 else f"fee-{bill}")


@dataclass(frozen=True)
class _Bill:
    event: Event
    bills: int
    payment_reference: str


def record_bill(
    request: LicenceRequest, reference: str, e_payment_number: str, amount_fils: int,
    due_at: datetime,
) -> Change | None:  # fmt: skip
    """Payments issued the fee's bill: keep its number, amount and due time, so the inquiry shows
    them while the fee waits (an SMS can be lost). Only the current bill, once; no event."""
    if (
        request.status is not RequestStatus.AWAITING_PAYMENT
        or request.payment_reference != reference
        or request.e_payment_number is not None
    ):
        return None
    return Change(
        request.model_copy(
            update={
                "e_payment_number": e_payment_number,
                "bill_amount_fils": amount_fils,
                "bill_due_at": due_at,
            }
        )
    )


def _bill(request: LicenceRequest, due_at: datetime) -> _Bill:
    bill = request.bills + 1
    reference = payment_reference(request.number, bill)
    payment = PaymentRequested(
        payment_reference=reference,
        request_number=request.number,
        amount_fils=request.fee_fils,
        description=LocalizedText(
            ar=f"رسوم رخصة مهن: {request.profession.ar}"[:200],
            en=f"Professional licence fee: {request.profession.en}"[:200],
        ),
        due_at=due_at,
        payer=request.applicant,
        service_type="licensing.licence_fee",
        owner_subject=request.owner_subject,
    )
    return _Bill(("licensing.payment.requested.v1", payment), bill, reference)


def decide(
    request: LicenceRequest,
    decision: Literal["approved", "not_approved", "external_approvals_required"],
    reasons: str | None,
    authorities: Sequence[Authority],
    payment_due_at: datetime,
    now: datetime,
    by: str,
    calendar: WorkingCalendar,
) -> Change:
    """Step 5 (and 6): the committee approves (the bill follows, step 8), refuses with reasons,
    or asks other authorities first."""
    if decision == "external_approvals_required":
        if not authorities:
            raise RuleBroken(
                "Name the authorities whose approval is needed.",
                "يرجى تحديد الجهات المطلوب موافقتها.",
                field="authorities",
            )
        given = {a.authority_code for a in request.external_approvals if a.status == "given"}
        wanted = [a for a in authorities if a.code not in given]
        if not wanted:
            raise RuleBroken(
                "These authorities have already approved.",
                "صدرت موافقة هذه الجهات سابقاً.",
                field="authorities",
            )
        approvals = (
            *(a for a in request.external_approvals if a.status == "given"),
            *(ExternalApproval(authority_code=a.code, authority=a.name) for a in wanted),
        )
        event = ExternalApprovalRequired.model_validate(
            {
                **request._base(),
                "authority_codes": [a.code for a in wanted],
                "authorities": [a.name for a in wanted],
            }
        )
        return _move(
            request, A.REQUIRE_EXTERNAL_APPROVALS, now, by, calendar,
            ("licensing.request.external_approval_required.v1", event),
            reason=", ".join(a.code for a in wanted), external_approvals=approvals,
        )  # fmt: skip
    if authorities:
        raise RuleBroken(
            "Authorities are named only when external approvals are required.",
            "تُحدَّد الجهات فقط عند طلب موافقات خارجية.",
            field="authorities",
        )
    if decision == "not_approved":
        if not reasons:
            raise RuleBroken(
                "Give the reasons for not approving.",
                "يرجى ذكر أسباب عدم الموافقة.",
                field="reasons",
            )
        refused = CommitteeDecided.model_validate(
            {**request._base(), "decision": "not_approved", "reasons": reasons, "fee_fils": 0}
        )
        return _move(
            request, A.REFUSE, now, by, calendar,
            ("licensing.request.committee_decided.v1", refused),
            reason=reasons, decision_reasons=reasons,
        )  # fmt: skip
    approved = CommitteeDecided.model_validate(
        {
            **request._base(),
            "decision": "approved",
            "reasons": reasons,
            "fee_fils": request.fee_fils,
        }
    )
    bill = _bill(request, payment_due_at)
    return _move(
        request, A.APPROVE, now, by, calendar,
        ("licensing.request.committee_decided.v1", approved), bill.event,
        reason=reasons, bills=bill.bills, payment_reference=bill.payment_reference,
        e_payment_number=None,
    )  # fmt: skip


def record_external(
    request: LicenceRequest,
    authority_code: str,
    given: bool,
    reference: str | None,
    note: str | None,
    now: datetime,
    by: str,
    calendar: WorkingCalendar,
) -> Change:
    """Step 6's answer: given (the last one sends the request back to the committee), or
    refused (step 7: the request ends refused)."""
    if request.status is not S.AWAITING_EXTERNAL_APPROVALS:
        raise NotAllowedNow(
            "No external approval is awaited for this request.",
            "لا توجد موافقة خارجية بانتظار الرد على هذا الطلب.",
        )
    pending = next(
        (a for a in request.external_approvals
         if a.authority_code == authority_code and a.status == "pending"),
        None,
    )  # fmt: skip
    if pending is None:
        raise NotAllowedNow(
            f"No approval of '{authority_code}' is awaited.",
            "لا توجد موافقة بانتظار الرد من هذه الجهة.",
        )
    recorded = pending.model_copy(
        update={
            "status": "given" if given else "refused",
            "reference": reference,
            "note": note,
            "recorded_by": by,
            "recorded_at": now,
        }
    )
    approvals = tuple(
        recorded if a.authority_code == authority_code else a for a in request.external_approvals
    )
    if not given:
        event = ExternalApprovalRefused.model_validate(
            {
                **request._base(),
                "authority_code": authority_code,
                "authority": pending.authority,
                "is_civil_defence": authority_code == CIVIL_DEFENCE,
                "note": note,
            }
        )
        return _move(
            request, A.RECORD_EXTERNAL_REFUSAL, now, by, calendar,
            ("licensing.request.external_approval_refused.v1", event),
            reason=f"{authority_code}: {note or 'refused'}", external_approvals=approvals,
        )  # fmt: skip
    still_pending = any(a.status == "pending" for a in approvals)
    return _move(
        request, A.RECORD_EXTERNAL_APPROVAL, now, by, calendar,
        reason=f"{authority_code}: {reference or 'given'}", external_approvals=approvals,
        target=S.AWAITING_EXTERNAL_APPROVALS if still_pending else S.COMMITTEE_REVIEW,
    )  # fmt: skip


def end_of_year(calendar: WorkingCalendar, now: datetime) -> datetime:
    """Municipal professional licences are annual: valid to 31 December (Amman) of the year."""
    zone = ZoneInfo(calendar.tz)
    year = now.astimezone(zone).year
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=zone).astimezone(UTC)


def pay(
    request: LicenceRequest,
    reference: str,
    e_payment_number: str,
    amount_fils: int,
    licence_number: str,
    token: str,
    verification_url: str,
    now: datetime,
    calendar: WorkingCalendar,
) -> Change | None:
    """Step 9: the bill was paid: the licence is issued. None: nothing to do (a redelivery, or a
    bill that is not the current one). Paid after a withdrawal: the money goes back."""
    if request.status is S.AWAITING_PAYMENT and reference == request.payment_reference:
        licence = Licence(
            number=licence_number,
            token=token,
            issued_at=now,
            valid_until=end_of_year(calendar, now),
            e_payment_number=e_payment_number,
        )
        event = LicenceIssued.model_validate(
            {
                **request._base(),
                "licence_number": licence.number,
                "issued_at": now,
                "valid_until": licence.valid_until,
                "verification_url": verification_url,
                "e_payment_number": e_payment_number,
            }
        )
        return _move(
            request, A.PAY, now, PAYMENTS, calendar,
            ("licensing.licence.issued.v1", event),
            reason=e_payment_number, licence=licence, e_payment_number=e_payment_number,
        )  # fmt: skip
    if request.status is S.WITHDRAWN and not request.is_refund_requested:
        refund = RefundRequested(
            payment_reference=reference,
            refund_reference=f"{SERVICE}:{request.number}:late_payment_refund",
            request_number=request.number,
            amount_fils=amount_fils,
            reason=LocalizedText(
                ar="دُفعت الرسوم بعد سحب طلب الرخصة",
                en="The fee was paid after the licence request was withdrawn",
            ),
            needs_approval=False,
            payer=request.applicant,
        )
        updated = request.model_copy(update={"is_refund_requested": True})
        return Change(updated, (), (("licensing.refund.requested.v1", refund),))
    return None


def expire_bill(
    request: LicenceRequest,
    reference: str,
    e_payment_number: str,
    now: datetime,
    calendar: WorkingCalendar,
) -> Change | None:
    """The current bill expired (or was cancelled by payments) unpaid. None: nothing to do."""
    if request.status is not S.AWAITING_PAYMENT or reference != request.payment_reference:
        return None
    event = PaymentExpired.model_validate(
        {**request._base(), "e_payment_number": e_payment_number, "at": now}
    )
    return _move(
        request, A.EXPIRE_BILL, now, PAYMENTS, calendar,
        ("licensing.request.payment_expired.v1", event), reason=e_payment_number,
    )  # fmt: skip


def request_new_bill(
    request: LicenceRequest, payment_due_at: datetime, now: datetime, calendar: WorkingCalendar
) -> Change:
    """The applicant asks for a new e-payment number after one expired."""
    if request.status is not S.PAYMENT_EXPIRED:
        raise NotAllowedNow(
            "A new e-payment number is given only after the last one expired.",
            "يُصدر رقم دفع جديد فقط بعد انتهاء صلاحية الرقم السابق.",
        )
    bill = _bill(request, payment_due_at)
    return _move(
        request, A.REQUEST_NEW_BILL, now, request.owner_subject, calendar, bill.event,
        bills=bill.bills, payment_reference=bill.payment_reference, e_payment_number=None,
    )  # fmt: skip


def withdraw(request: LicenceRequest, now: datetime, calendar: WorkingCalendar) -> Change:
    """The applicant withdraws an open request; an unpaid bill is withdrawn with it."""
    events: list[Event] = []
    if request.status is not S.DRAFT:
        event = LicensingRequestWithdrawn.model_validate({**request._base(), "at": now})
        events.append(("licensing.request.withdrawn.v1", event))
    if request.status is S.AWAITING_PAYMENT and request.payment_reference:
        events.append(
            (
                "licensing.payment.cancelled.v1",
                PaymentCancelled(
                    payment_reference=request.payment_reference,
                    request_number=request.number,
                    reason="the applicant withdrew the licence request",
                ),
            )
        )
    return _move(request, A.WITHDRAW, now, request.owner_subject, calendar, *events)
