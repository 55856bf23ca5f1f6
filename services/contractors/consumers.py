"""The events the contractors service reacts to: the outcome of each renewal fee, on the queue
`contractors.payments` (`payments.bill.paid|expired|cancelled.v1`; only references starting with
`contractors:` are acted on). A domain refusal is dead-lettered with its reason; any other error
is retried by the shared consumer, then dead-lettered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts import BillCancelled, BillExpired, BillPaid, CloudEvent
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler, Reject
from services.common.runtime import Runtime
from services.contractors.domain import DomainError
from services.contractors.service import Contractors

PAYMENTS_QUEUE = "contractors.payments"
BILL_PAID = "payments.bill.paid.v1"
BILL_EXPIRED = "payments.bill.expired.v1"
BILL_CANCELLED = "payments.bill.cancelled.v1"


def _handler(model: type[Any], use_case: Callable[[Any], Awaitable[None]]) -> Handler:
    async def handle(event: CloudEvent, data: Any) -> None:
        if not isinstance(data, model):
            raise Reject(f"expected {model.__name__}, got {type(data).__name__}")
        try:
            await use_case(data)
        except DomainError as error:
            raise Reject(error.detail) from None

    return handle


def consumers(runtime: Runtime) -> list[EventConsumer]:
    service: Contractors = runtime.service
    return [
        EventConsumer(
            QueueBinding(PAYMENTS_QUEUE, [BILL_PAID, BILL_EXPIRED, BILL_CANCELLED]),
            {
                BILL_PAID: _handler(BillPaid, service.on_bill_paid),
                BILL_EXPIRED: _handler(BillExpired, service.on_bill_expired),
                BILL_CANCELLED: _handler(BillCancelled, service.on_bill_cancelled),
            },
        )
    ]
