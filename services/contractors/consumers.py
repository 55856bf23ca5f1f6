"""The events the contractors service reacts to: the outcome of each renewal fee, on the queue
`contractors.payments` (`payments.bill.issued|paid|expired|cancelled.v1`, issued recording the
e-payment number the inquiry shows while the fee waits; only references starting with
`contractors:` are acted on). A domain refusal is dead-lettered with its reason; any other error
is retried by the shared consumer, then dead-lettered.
"""

from __future__ import annotations

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, typed_handler
from services.common.runtime import Runtime
from services.contractors.service import Contractors

PAYMENTS_QUEUE = "contractors.payments"
BILL_ISSUED = "payments.bill.issued.v1"
BILL_PAID = "payments.bill.paid.v1"
BILL_EXPIRED = "payments.bill.expired.v1"
BILL_CANCELLED = "payments.bill.cancelled.v1"


def consumers(runtime: Runtime) -> list[EventConsumer]:
    service: Contractors = runtime.service
    return [
        EventConsumer(
            QueueBinding(PAYMENTS_QUEUE, [BILL_ISSUED, BILL_PAID, BILL_EXPIRED, BILL_CANCELLED]),
            {
                BILL_ISSUED: typed_handler(BillIssued, service.on_bill_issued, idempotent=True),
                BILL_PAID: typed_handler(BillPaid, service.on_bill_paid),
                BILL_EXPIRED: typed_handler(BillExpired, service.on_bill_expired),
                BILL_CANCELLED: typed_handler(BillCancelled, service.on_bill_cancelled),
            },
        )
    ]
