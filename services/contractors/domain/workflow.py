"""The workflow of a renewal, as data: states, actions, roles, labels, next steps (seed 001).

The same tables drive the transitions (`request.py`), the API's role checks, the inquiry's labels
(`views.py`) and the README's workflow section (`readme.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Literal

from services.common import workflow
from services.common.workflow import Step

SERVICE = "contractors"
REQUEST_PREFIX = "CP"
FEE_PURPOSE = "fee"
LATE_PAYMENT_REFUND_PURPOSE = "late_payment_refund"
SERVICE_TYPE = "contractors.permit_renewal"

CITIZEN = "citizen"
REVIEWER = "contractors.reviewer"
REGISTRAR = "contractors.registrar"
SYSTEM = workflow.SYSTEM

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
