"""The events payments reacts to, on one queue so that a service's requests about one payment
(request, cancellation, refund) are applied in the order it published them.

Each handler only translates: the data to the use case, a domain refusal to a dead letter with its
reason (such a message can never succeed; an operator reads it in `payments.requests.dlq`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts import (
    REQUESTING_SERVICES,
    CloudEvent,
    PaymentCancelled,
    PaymentRequested,
    RefundRequested,
)
from services.common.broker import QueueBinding
from services.common.consumer import EventConsumer, Handler, Reject
from services.common.runtime import Runtime
from services.payments.domain import DomainError
from services.payments.service import Payments

QUEUE = "payments.requests"
ROUTING_KEYS = ("*.payment.requested.v1", "*.payment.cancelled.v1", "*.refund.requested.v1")


def _handler(model: type[Any], use_case: Callable[[Any], Awaitable[object]]) -> Handler:
    async def handle(event: CloudEvent, data: Any) -> None:
        if not isinstance(data, model):
            raise Reject(f"expected {model.__name__}, got {type(data).__name__}")
        try:
            await use_case(data)
        except DomainError as error:
            raise Reject(error.detail) from None

    return handle


def handlers(payments: Payments) -> dict[str, Handler]:
    by_kind = {
        "payment.requested": _handler(PaymentRequested, payments.issue_bill),
        "payment.cancelled": _handler(PaymentCancelled, payments.cancel_bill),
        "refund.requested": _handler(RefundRequested, payments.request_refund),
    }
    return {
        f"{service}.{kind}.v1": handler
        for service in REQUESTING_SERVICES
        for kind, handler in by_kind.items()
    }


def consumers(runtime: Runtime) -> list[EventConsumer]:
    payments: Payments = runtime.service
    return [EventConsumer(QueueBinding(QUEUE, ROUTING_KEYS), handlers(payments))]
