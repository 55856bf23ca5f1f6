"""The events the courses service reacts to: the outcomes of its bills, on one queue.

`payments.bill.issued.v1` records the e-payment number the inquiry shows while the fee waits;
`payments.bill.paid.v1` confirms a booking (seed 002, 7.4); `payments.bill.expired.v1` and
`payments.bill.cancelled.v1` mean the fee can no longer be paid, so the request is cancelled
(note 1). Each handler only translates (`typed_handler`): bills of other services, redeliveries
and late payments are answered by the use cases; a bill naming no request of this service is
dead-lettered with the reason (the platform's policy, `services.common.consumer`).
"""

from __future__ import annotations

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler, typed_handler
from services.common.runtime import Runtime
from services.courses.service import Courses

QUEUE = "courses.bills"
BILL_OUTCOMES = (
    "payments.bill.issued.v1",
    "payments.bill.paid.v1",
    "payments.bill.expired.v1",
    "payments.bill.cancelled.v1",
)


def handlers(courses: Courses) -> dict[str, Handler]:
    return {
        "payments.bill.issued.v1": typed_handler(BillIssued, courses.bill_issued, idempotent=True),
        "payments.bill.paid.v1": typed_handler(BillPaid, courses.bill_paid),
        "payments.bill.expired.v1": typed_handler(BillExpired, courses.bill_ended),
        "payments.bill.cancelled.v1": typed_handler(BillCancelled, courses.bill_ended),
    }


def consumers(runtime: Runtime) -> list[EventConsumer]:
    courses: Courses = runtime.service
    return [EventConsumer(QueueBinding(QUEUE, BILL_OUTCOMES), handlers(courses))]
