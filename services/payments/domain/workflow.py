"""The bill's and the refund's workflows, as data: states, actions, who may take each step.

The same tables drive the moves (`bill.py`), the API's role checks and labels, and the README's
state diagrams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from services.common.workflow import SYSTEM as SYSTEM

FINANCE_APPROVER = "finance.approver"
FINANCE_STAFF = "finance.staff"
# Who may read every bill, refund, exception and report.
FINANCE_READERS = (FINANCE_STAFF, FINANCE_APPROVER)
# The payment provider notifying a payment (eFAWATEERcom): the role it acts under.
PAYMENT_PROVIDER = "payment.provider"

# Mongo keeps milliseconds: a bill is payable up to and including `due_at`, and expires at the
# first instant the database can tell apart from it.
EXPIRY_RESOLUTION = timedelta(milliseconds=1)


class BillStatus(StrEnum):
    NEW = "new"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class BillAction(StrEnum):
    ISSUE = "issue"
    PAY = "pay"
    EXPIRE = "expire"
    CANCEL = "cancel"


class RefundStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class RefundAction(StrEnum):
    REQUEST = "request"
    APPROVE_AT_ONCE = "approve_at_once"
    APPROVE = "approve"
    REJECT = "reject"


class ExceptionKind(StrEnum):
    """Why a payment notification was not applied to a bill (the money is flagged for refund)."""

    UNKNOWN_BILL = "unknown-bill"
    AMOUNT_MISMATCH = "amount-mismatch"
    BILL_EXPIRED = "bill-expired"
    BILL_CANCELLED = "bill-cancelled"
    ALREADY_PAID = "already-paid"


# ---- the workflows, as data ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One allowed move: `action` takes a bill (or refund) from `source` to `target`, taken by one
    of `roles` (the system: a requesting service's event, or the expiry sweeper)."""

    action: str
    source: str | None
    target: str
    by: str
    label_en: str
    label_ar: str
    roles: tuple[str, ...] = (SYSTEM,)


BILL_WORKFLOW: tuple[Step, ...] = (
    Step(
        BillAction.ISSUE,
        None,
        BillStatus.NEW,
        "requesting service: <service>.payment.requested.v1",
        "Bill issued",
        "صدرت الفاتورة",
    ),
    Step(
        BillAction.PAY,
        BillStatus.NEW,
        BillStatus.PAID,
        "payment provider: signed payment notification, exact amount, by the due time",
        "Bill paid",
        "دُفعت الفاتورة",
        roles=(PAYMENT_PROVIDER,),
    ),
    Step(
        BillAction.EXPIRE,
        BillStatus.NEW,
        BillStatus.EXPIRED,
        "system: the due time passed unpaid",
        "Bill expired",
        "انتهت صلاحية الفاتورة",
    ),
    Step(
        BillAction.CANCEL,
        BillStatus.NEW,
        BillStatus.CANCELLED,
        "requesting service: <service>.payment.cancelled.v1",
        "Bill cancelled",
        "أُلغيت الفاتورة",
    ),
)

REFUND_WORKFLOW: tuple[Step, ...] = (
    Step(
        RefundAction.REQUEST,
        None,
        RefundStatus.PENDING_APPROVAL,
        "requesting service: <service>.refund.requested.v1, needs_approval true",
        "Refund requested, awaiting approval",
        "طُلب استرداد المبلغ بانتظار الموافقة",
    ),
    Step(
        RefundAction.APPROVE_AT_ONCE,
        None,
        RefundStatus.APPROVED,
        "requesting service: <service>.refund.requested.v1, needs_approval false",
        "Refund approved",
        "تمت الموافقة على الاسترداد",
    ),
    Step(
        RefundAction.APPROVE,
        RefundStatus.PENDING_APPROVAL,
        RefundStatus.APPROVED,
        "finance approver",
        "Refund approved",
        "تمت الموافقة على الاسترداد",
        roles=(FINANCE_APPROVER,),
    ),
    Step(
        RefundAction.REJECT,
        RefundStatus.PENDING_APPROVAL,
        RefundStatus.REJECTED,
        "finance approver",
        "Refund rejected",
        "رُفض الاسترداد",
        roles=(FINANCE_APPROVER,),
    ),
)


def step(workflow: tuple[Step, ...], action: str) -> Step:
    for candidate in workflow:
        if candidate.action == action:
            return candidate
    raise KeyError(action)
