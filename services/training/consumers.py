"""The events the training service reacts to: the outcomes of its bills and refunds, one queue.

`payments.bill.issued.v1` records the e-payment number the inquiry shows while the fee waits;
`payments.bill.paid.v1` approves an individual's GIS training (seed 003, step 10);
`payments.bill.expired.v1` and `payments.bill.cancelled.v1` mean the fee can no longer be paid,
so the request is cancelled (note 2; payments is the only clock of the unpaid fee, so it cannot
fire twice). `payments.refund.approved.v1` / `.rejected.v1` are remembered for the inquiry (their
SMS is the notifier's). Handlers only translate: each hands the event's data to its use case
(`typed_handler`).

What normal running brings is a no-op: a bill or refund of another service, a redelivery, a bill
that no longer applies (paid for a request already cancelled is refunded instead). An event the
use case refuses, a reference of ours naming no request of ours, should not have come: it is
dead-lettered with the reason (`services.common.consumer.TypedHandler`).
"""

from __future__ import annotations

from contracts import (
    BillCancelled,
    BillExpired,
    BillIssued,
    BillPaid,
    RefundApproved,
    RefundRejected,
)
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler, typed_handler
from services.common.runtime import Runtime
from services.training.service import Training

QUEUE = "training.payments"
KEYS = (
    "payments.bill.issued.v1",
    "payments.bill.paid.v1",
    "payments.bill.expired.v1",
    "payments.bill.cancelled.v1",
    "payments.refund.approved.v1",
    "payments.refund.rejected.v1",
)


def handlers(training: Training) -> dict[str, Handler]:
    return {
        "payments.bill.issued.v1": typed_handler(
            BillIssued, training.on_bill_issued, idempotent=True
        ),
        "payments.bill.paid.v1": typed_handler(BillPaid, training.on_bill_paid),
        "payments.bill.expired.v1": typed_handler(BillExpired, training.on_bill_ended),
        "payments.bill.cancelled.v1": typed_handler(BillCancelled, training.on_bill_ended),
        "payments.refund.approved.v1": typed_handler(RefundApproved, training.on_refund_decided),
        "payments.refund.rejected.v1": typed_handler(RefundRejected, training.on_refund_decided),
    }


def consumers(runtime: Runtime) -> list[EventConsumer]:
    training: Training = runtime.service
    return [EventConsumer(QueueBinding(QUEUE, KEYS), handlers(training))]
