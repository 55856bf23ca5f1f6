"""The licence request's workflow, as data: its roles, states, actions and the table of allowed
moves, from which the API's role checks, the inquiry's labels and the README are derived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Literal

from contracts import LocalizedText
from services.common import workflow
from services.common.workflow import SYSTEM as SYSTEM

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
# The subject of the system actor when one of payments' events moves a request.
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
    `trigger` says who or what starts it (and the seed's step it is); `branch` picks between
    rows of one action from one state."""

    action: RequestAction
    source: RequestStatus | None
    target: RequestStatus
    trigger: str
    label_en: str
    label_ar: str
    roles: tuple[str, ...] = ()
    branch: str | None = None


_EXTERNAL_RECORDERS = (CLERK, COMMITTEE, EXTERNAL_AUTHORITY)
# The two rows of an external approval: others are still awaited, or it was the last one.
OTHERS_PENDING = "others pending"
LAST_ONE = "the last one"

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
         "External approval given", "صدرت موافقة خارجية", _EXTERNAL_RECORDERS, OTHERS_PENDING),
    Step(A.RECORD_EXTERNAL_APPROVAL, S.AWAITING_EXTERNAL_APPROVALS, S.COMMITTEE_REVIEW,
         "staff or the authority's system: the last one", "All external approvals given",
         "صدرت جميع الموافقات الخارجية", _EXTERNAL_RECORDERS, LAST_ONE),
    Step(A.RECORD_EXTERNAL_REFUSAL, S.AWAITING_EXTERNAL_APPROVALS, S.REFUSED,
         "staff or the authority's system: step 7 (SMS)", "External approval refused",
         "لم تصدر الموافقة الخارجية", _EXTERNAL_RECORDERS),
    Step(A.PAY, S.AWAITING_PAYMENT, S.LICENSED,
         "payments: payments.bill.paid.v1, step 9 (SMS with the link)",
         "Fee paid, licence issued", "دُفعت الرسوم وصدرت الرخصة", (SYSTEM,)),
    Step(A.EXPIRE_BILL, S.AWAITING_PAYMENT, S.PAYMENT_EXPIRED,
         "payments: payments.bill.expired.v1 or .cancelled.v1 (SMS)",
         "E-payment number expired", "انتهت صلاحية رقم الدفع", (SYSTEM,)),
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
