"""Fixtures for the payments service run as a real process on the real broker and database.

- `payments`: one service process for the test, with its own database, queue suffix and clock
  file (`payments.move_clock(instant)` moves its time);
- `published`: every `payments.*` event published while the test runs (a temporary exclusive
  queue bound to `amman.events`), looked up by payment reference;
- `provider`: the payment provider, sending signed bill inquiries and payment notifications;
- `request_payment` / `publish`: what a requesting service would publish.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from contracts import (
    Applicant,
    CloudEvent,
    LocalizedText,
    PaymentCancelled,
    PaymentRequested,
    RefundRequested,
    new_event,
)
from services.common.clock import set_file_clock
from services.common.outbox import PENDING_PATH
from services.payments import simulator
from tests.integration.conftest import ServiceProcess, eventually
from tests.integration.helpers import bearer, metric, publish_raw

SECRET = "integration-test-efawateercom-secret-0123456789"
BILLER_CODE = "106"
PAYER = Applicant(name="Layla Ahmad Haddad", phone="+962791234567", lang="ar")


@dataclass
class Payments:
    process: ServiceProcess
    clock_file: Path
    database: Any
    # Real time minus service time, once the clock was moved.
    offset: timedelta = timedelta(0)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def queue(self) -> str:
        return self.process.queue("payments.requests")

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    def move_clock(self, instant: datetime) -> None:
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)

    async def consumed(self, count: int) -> None:
        """Wait until the service has taken `count` events from its queue (applied, or skipped
        as a redelivery of one already applied)."""

        async def done() -> bool:
            applied = await metric(self.url, "events_consumed_total", queue=self.queue)
            skipped = await metric(self.url, "events_duplicate_total", queue=self.queue)
            return applied + skipped >= count

        await eventually(done, message=f"{count} events consumed")

    async def drained(self) -> None:
        """Wait until every event the service stored is published (the outbox is empty)."""

        async def empty() -> bool:
            pending = {PENDING_PATH: {"$exists": True}}
            return await self.database["bills"].count_documents(pending) == 0

        await eventually(empty, message="outbox drained")

    async def get(self, path: str, token: str, **params: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return await client.get(path, headers=bearer(token), params=params)

    async def post(self, path: str, token: str, body: dict[str, Any]) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return await client.post(path, headers=bearer(token), json=body)


@pytest.fixture
async def payments(start_service: Any, tmp_path: Path, mongo: Any, database_name: str) -> Payments:
    clock_file = tmp_path / "clock"
    process = start_service(
        "services.payments",
        CLOCK_FILE=str(clock_file),
        PAYMENTS_EFAWATEERCOM_SECRET=SECRET,
        PAYMENTS_BILLER_CODE=BILLER_CODE,
        DELIVERY_LIMIT="2",
    )
    await process.wait_ready()
    return Payments(process, clock_file, mongo[database_name])


@dataclass
class Published:
    """The payments events seen on the exchange, in arrival order."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of(self, routing_key: str, reference: str) -> list[dict[str, Any]]:
        return [
            data
            for key, data in self.events
            if key == routing_key
            and reference in (data.get("payment_reference"), data.get("refund_reference"))
        ]

    async def one(self, routing_key: str, reference: str) -> dict[str, Any]:
        async def seen() -> list[dict[str, Any]]:
            return self.of(routing_key, reference)

        found: list[dict[str, Any]] = await eventually(seen, message=f"{routing_key} {reference}")
        return found[0]


@pytest.fixture
async def published(amqp: Any) -> AsyncIterator[Published]:
    channel = await amqp.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind("amman.events", routing_key="payments.#")
    seen = Published()

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        envelope = json.loads(message.body)
        seen.events.append((message.routing_key or "", envelope["data"]))
        await message.ack()

    await queue.consume(keep)
    yield seen
    await channel.close()


def payment_requested(
    *,
    amount_fils: int = 25000,
    due_at: datetime | None = None,
    owner: str | None = "citizen-1",
    service: str = "exams",
    payer: Applicant = PAYER,
) -> CloudEvent:
    number = f"{service[:2].upper()}-2026-{uuid.uuid4().hex[:10]}"
    data = PaymentRequested(
        payment_reference=f"{service}:{number}:fee",
        request_number=number,
        amount_fils=amount_fils,
        description=LocalizedText(ar="رسوم امتحان تجريبي", en="Trial exam fee"),
        due_at=due_at or datetime.now(UTC) + timedelta(days=3),
        payer=payer,
        service_type=f"{service}.exam_fee",
        owner_subject=owner,
    )
    return new_event(
        f"{service}.payment.requested.v1",
        data,
        source_service=service,
        subject=number,
        time=datetime.now(UTC),
    )


async def publish(amqp: Any, event: CloudEvent) -> None:
    await publish_raw(amqp, event.to_json(), routing_key=event.routing_key, message_id=event.id)


@pytest.fixture
def request_payment(amqp: Any, published: Published, payments: Payments) -> Any:
    """Publish a payment request and return (its event, the bill.issued data of this test's
    service). The broker is shared: another payments process on it (a developer's `make run`,
    another checkout's tests) may bill the same request in its own database and publish its own
    `bill.issued`, which is not the one this test pays."""

    async def request(**changes: Any) -> tuple[CloudEvent, dict[str, Any]]:
        event = payment_requested(**changes)
        await publish(amqp, event)
        reference = event.data["payment_reference"]

        async def ours() -> dict[str, Any] | None:
            bill = await payments.database["bills"].find_one({"payment_reference": reference})
            seen = published.of("payments.bill.issued.v1", reference)
            found = [data for data in seen if bill and data["e_payment_number"] == bill["_id"]]
            return found[0] if found else None

        issued: dict[str, Any] = await eventually(ours, message=f"bill.issued {reference}")
        return event, issued

    return request


@dataclass
class Provider:
    """eFAWATEERcom, as the service sees it: signed calls to the two provider endpoints."""

    payments: Payments
    secret: bytes = SECRET.encode()

    async def call(
        self,
        path: str,
        body: bytes,
        *,
        secret: bytes | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        moment = int(self.payments.now().timestamp()) if timestamp is None else timestamp
        signed = simulator.signed_headers(body, secret or self.secret, timestamp=moment)
        async with httpx.AsyncClient(base_url=self.payments.url, timeout=15) as client:
            return await client.post(
                simulator.PREFIX + path,
                content=body,
                headers=signed if headers is None else headers,
            )

    async def inquire(self, number: str, service_type: str | None = None) -> httpx.Response:
        body = simulator.inquiry_body(number, biller_code=BILLER_CODE, service_type=service_type)
        return await self.call("/bill-inquiries", body)

    def notification(
        self,
        number: str,
        amount_fils: int = 25000,
        *,
        transaction_id: str | None = None,
        due_fils: int | None = None,
    ) -> bytes:
        return simulator.notification_body(
            number,
            amount_fils=amount_fils,
            due_fils=amount_fils if due_fils is None else due_fils,
            biller_code=BILLER_CODE,
            service_type="EXAMS",
            transaction_id=transaction_id,
            paid_at=self.payments.now(),
        )

    async def pay(self, number: str, amount_fils: int = 25000, **options: Any) -> httpx.Response:
        body = self.notification(number, amount_fils, transaction_id=options.pop("trx", None))
        return await self.call("/payment-notifications", body, **options)


@pytest.fixture
def provider(payments: Payments) -> Provider:
    return Provider(payments)


async def settle() -> None:
    """A moment for messages already on the wire to arrive, before asserting none more did."""
    await asyncio.sleep(0.5)


def stale(seconds: int = 301) -> int:
    return int(time.time()) - seconds


def refund_requested(
    payment: CloudEvent, *, amount_fils: int, needs_approval: bool, purpose: str = "refund"
) -> CloudEvent:
    service = payment.routing_key.split(".", 1)[0]
    number = payment.data["request_number"]
    data = RefundRequested(
        payment_reference=payment.data["payment_reference"],
        refund_reference=f"{service}:{number}:{purpose}",
        request_number=number,
        amount_fils=amount_fils,
        reason=LocalizedText(ar="استرداد بعد عدم الحضور", en="Refund after a no-show"),
        needs_approval=needs_approval,
        payer=PAYER,
    )
    return new_event(
        f"{service}.refund.requested.v1",
        data,
        source_service=service,
        subject=number,
        time=datetime.now(UTC),
    )


def payment_cancelled(payment: CloudEvent, reason: str = "the applicant withdrew") -> CloudEvent:
    service = payment.routing_key.split(".", 1)[0]
    data = PaymentCancelled(
        payment_reference=payment.data["payment_reference"],
        request_number=payment.data["request_number"],
        reason=reason,
    )
    return new_event(
        f"{service}.payment.cancelled.v1",
        data,
        source_service=service,
        subject=data.request_number,
        time=datetime.now(UTC),
    )
