"""The events the courses service reacts to: the outcomes of its bills, on one queue.

`payments.bill.issued.v1` records the e-payment number the inquiry shows while the fee waits;
`payments.bill.paid.v1` confirms a booking (seed 002, 7.4); `payments.bill.expired.v1` and
`payments.bill.cancelled.v1` mean the fee can no longer be paid, so the request is cancelled
(note 1). Bills of other services are ignored. Each handler only translates.
"""

from __future__ import annotations

from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler
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
        "payments.bill.issued.v1": courses.on_bill_issued,
        "payments.bill.paid.v1": courses.on_bill_paid,
        "payments.bill.expired.v1": courses.on_bill_ended,
        "payments.bill.cancelled.v1": courses.on_bill_ended,
    }


def consumers(runtime: Runtime) -> list[EventConsumer]:
    courses: Courses = runtime.service
    return [EventConsumer(QueueBinding(QUEUE, BILL_OUTCOMES), handlers(courses))]
