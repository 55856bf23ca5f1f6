"""The events the licensing service reacts to: the outcomes of its bills, on one queue.

`payments.bill.issued.v1` records the e-payment number, amount and due time the inquiry shows
while the fee waits; `payments.bill.paid.v1` issues the licence (seed 000, step 9);
`payments.bill.expired.v1` and `payments.bill.cancelled.v1` mean the e-payment number can no
longer be paid (the applicant may ask for a new one).

Each handler only translates (`typed_handler`): the data to the use case. What happens in normal
running is a no-op there (another service's bill, a redelivery, an old bill) or its own move (a
payment after a withdrawal is refunded); a domain refusal (a bill of this service naming no
request of it) is dead-lettered with its reason.
"""

from __future__ import annotations

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, typed_handler
from services.common.runtime import Runtime
from services.licensing.service import Licensing

QUEUE = "licensing.bills"
BILL_ISSUED = "payments.bill.issued.v1"
BILL_PAID = "payments.bill.paid.v1"
BILL_EXPIRED = "payments.bill.expired.v1"
BILL_CANCELLED = "payments.bill.cancelled.v1"
BILL_OUTCOMES = (BILL_ISSUED, BILL_PAID, BILL_EXPIRED, BILL_CANCELLED)


def consumers(runtime: Runtime) -> list[EventConsumer]:
    licensing: Licensing = runtime.service
    return [
        EventConsumer(
            QueueBinding(QUEUE, BILL_OUTCOMES),
            {
                BILL_ISSUED: typed_handler(BillIssued, licensing.on_bill_issued, idempotent=True),
                BILL_PAID: typed_handler(BillPaid, licensing.on_bill_paid),
                BILL_EXPIRED: typed_handler(BillExpired, licensing.on_bill_ended),
                BILL_CANCELLED: typed_handler(BillCancelled, licensing.on_bill_ended),
            },
        )
    ]
