"""The events payments reacts to, on one queue so that a service's requests about one payment
(request, cancellation, refund) are applied in the order it published them.

Each handler only translates: the data to the use case, a domain refusal to a dead letter with its
reason (such a message can never succeed; an operator reads it in `payments.requests.dlq`).
"""

from __future__ import annotations

from contracts import (
    REQUESTING_SERVICES,
    PaymentCancelled,
    PaymentRequested,
    RefundRequested,
)
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler, typed_handler
from services.common.runtime import Runtime
from services.payments.service import Payments

QUEUE = "payments.requests"
ROUTING_KEYS = ("*.payment.requested.v1", "*.payment.cancelled.v1", "*.refund.requested.v1")


def handlers(payments: Payments) -> dict[str, Handler]:
    by_kind: dict[str, Handler] = {
        "payment.requested": typed_handler(PaymentRequested, payments.issue_bill, idempotent=True),
        "payment.cancelled": typed_handler(PaymentCancelled, payments.cancel_bill),
        "refund.requested": typed_handler(RefundRequested, payments.request_refund),
    }
    return {
        f"{service}.{kind}.v1": handler
        for service in REQUESTING_SERVICES
        for kind, handler in by_kind.items()
    }


def consumers(runtime: Runtime) -> list[EventConsumer]:
    payments: Payments = runtime.service
    return [EventConsumer(QueueBinding(QUEUE, ROUTING_KEYS), handlers(payments))]
