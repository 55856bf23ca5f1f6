"""The events the exams service reacts to, on two queues.

- `exams.payments`: each fee's bill (`payments.bill.issued|paid|expired|cancelled.v1`; issued
  only records the e-payment number the inquiry shows while the fee waits). Every service's bills
  arrive here; only references starting with `exams:` are acted on.
- `exams.sessions`: the service's own `exams.session.scheduled.v1`, which tells each candidate
  of the session its date (so the fan-out survives a crash: the event is in the outbox with the
  session's change, and a redelivery finishes it).

Each handler only translates: the data to the use case, a domain refusal to a dead letter with
its reason (such a message can never succeed; an operator reads it in `<queue>.dlq`). Any other
error is retried by the shared consumer, then dead-lettered.
"""

from __future__ import annotations

from contracts import BillCancelled, BillExpired, BillIssued, BillPaid
from contracts.exams import ExamSessionScheduled
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, typed_handler
from services.common.runtime import Runtime
from services.exams.service import Exams

PAYMENTS_QUEUE = "exams.payments"
SESSIONS_QUEUE = "exams.sessions"

BILL_ISSUED = "payments.bill.issued.v1"
BILL_PAID = "payments.bill.paid.v1"
BILL_EXPIRED = "payments.bill.expired.v1"
BILL_CANCELLED = "payments.bill.cancelled.v1"
SESSION_SCHEDULED = "exams.session.scheduled.v1"


def consumers(runtime: Runtime) -> list[EventConsumer]:
    exams: Exams = runtime.service
    return [
        EventConsumer(
            QueueBinding(PAYMENTS_QUEUE, [BILL_ISSUED, BILL_PAID, BILL_EXPIRED, BILL_CANCELLED]),
            {
                BILL_ISSUED: typed_handler(BillIssued, exams.on_bill_issued, idempotent=True),
                BILL_PAID: typed_handler(BillPaid, exams.on_bill_paid),
                BILL_EXPIRED: typed_handler(BillExpired, exams.on_bill_expired),
                BILL_CANCELLED: typed_handler(BillCancelled, exams.on_bill_cancelled),
            },
        ),
        EventConsumer(
            QueueBinding(SESSIONS_QUEUE, [SESSION_SCHEDULED]),
            {SESSION_SCHEDULED: typed_handler(ExamSessionScheduled, exams.on_session_scheduled)},
        ),
    ]
