"""The events the licensing service reacts to: the outcomes of its bills, on one queue.

`payments.bill.issued.v1` records the e-payment number, amount and due time the inquiry shows
while the fee waits; `payments.bill.paid.v1` issues the licence (seed 000, step 9);
`payments.bill.expired.v1` and `payments.bill.cancelled.v1` mean the e-payment number can no
longer be paid (the applicant may ask for a new one). Bills of other services are ignored. Each
handler only translates.
"""

from __future__ import annotations

from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler
from services.common.runtime import Runtime
from services.licensing.service import Licensing

QUEUE = "licensing.bills"
BILL_OUTCOMES = (
    "payments.bill.issued.v1",
    "payments.bill.paid.v1",
    "payments.bill.expired.v1",
    "payments.bill.cancelled.v1",
)


def handlers(licensing: Licensing) -> dict[str, Handler]:
    return {
        "payments.bill.issued.v1": licensing.on_bill_issued,
        "payments.bill.paid.v1": licensing.on_bill_paid,
        "payments.bill.expired.v1": licensing.on_bill_ended,
        "payments.bill.cancelled.v1": licensing.on_bill_ended,
    }


def consumers(runtime: Runtime) -> list[EventConsumer]:
    licensing: Licensing = runtime.service
    return [EventConsumer(QueueBinding(QUEUE, BILL_OUTCOMES), handlers(licensing))]
