"""Fixtures of the notifier's integration tests: the notifier as its own process, on the real
broker and database, sending to a fake SMS provider that is a real HTTP server in this process
and can be told, per phone number, to accept, fail (any status), or stall."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest

from contracts import (
    Applicant,
    BillIssued,
    CloudEvent,
    LocalizedText,
    RefundApproved,
    RefundRejected,
    SmsFailed,
    new_event,
)
from contracts.notifier import SEND_SMS_ROUTING_KEY, SendSms, send_sms_command
from services.common.codeseal import public_key, seal_values
from services.notifier.domain import receipt_signature
from tests.integration.codekeys import CODE_PUBLIC_KEY
from tests.integration.conftest import eventually
from tests.integration.helpers import bearer, publish_raw
from tests.integration.notifier.provider import FakeProvider

RECEIPT_SECRET = "test-receipt-secret"
PROVIDER_TOKEN = "test-provider-token"
STAFF = "notifier.staff"


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


# ---- the notifier process ------------------------------------------------------------------


@pytest.fixture
def notifier_env(provider: FakeProvider) -> dict[str, str]:
    """Fast retries and polling, the fake provider, a known receipt secret."""
    return {
        "NOTIFIER_GATEWAY": "http",
        "NOTIFIER_HTTP_URL": provider.url,
        "NOTIFIER_HTTP_TOKEN": PROVIDER_TOKEN,
        "NOTIFIER_HTTP_TIMEOUT_SECONDS": "0.5",
        "NOTIFIER_MAX_ATTEMPTS": "3",
        "NOTIFIER_BACKOFF_BASE_SECONDS": "0.2",
        "NOTIFIER_BACKOFF_MAX_SECONDS": "1",
        # Two workers polling every 0.1 s: every claim takes FerretDB's write lock, which the
        # other suites running on the same server share.
        "NOTIFIER_SEND_WORKERS": "2",
        "NOTIFIER_SEND_POLL_SECONDS": "0.1",
        "NOTIFIER_SEND_LEASE_SECONDS": "3",
        "NOTIFIER_RATE_LIMIT_PER_SECOND": "200",
        "NOTIFIER_RECEIPT_SECRET": RECEIPT_SECRET,
    }


@pytest.fixture
def start_notifier(start_service: Any, notifier_env: dict[str, str]) -> Any:
    async def start(**overrides: str) -> Any:
        service = start_service("services.notifier", **{**notifier_env, **overrides})
        await service.wait_ready()
        return service

    return start


@pytest.fixture
async def notifier(start_notifier: Any) -> Any:
    return await start_notifier()


# ---- events, commands and what the notifier publishes -------------------------------------


def random_phone() -> str:
    """A valid Zain number, clear of the log gateway's reserved +96279000000x."""
    return f"+96279{random.randint(2_000_000, 9_999_999)}"


def new_request_number(prefix: str = "EX") -> str:
    return f"{prefix}-2026-{random.randint(0, 999_999):06d}"


DUE = datetime(2026, 12, 1, 20, 59, tzinfo=UTC)


def bill_issued(
    phone: str,
    *,
    lang: str = "ar",
    request_number: str | None = None,
    owner_subject: str | None = None,
) -> CloudEvent:
    number = request_number or new_request_number()
    event = new_event(
        "payments.bill.issued.v1",
        BillIssued(
            payment_reference=f"exams:{number}:fee",
            request_number=number,
            e_payment_number="2026000123457",
            amount_fils=12500,
            due_at=DUE,
            description=LocalizedText(ar="رسوم امتحان تجريبي: ICDL", en="Trial exam fee: ICDL"),
            applicant=Applicant(name="ليلى أحمد", phone=phone, lang=lang),
        ),
        source_service="payments",
        subject=number,
        time=datetime.now(UTC),
    )
    if owner_subject is None:
        return event
    # The payments engineer is adding owner_subject to the contract; sent as an added field.
    return event.model_copy(update={"data": {**event.data, "owner_subject": owner_subject}})


def refund_decided(phone: str, *, approved: bool, lang: str = "ar") -> CloudEvent:
    number = new_request_number("TR")
    common: dict[str, Any] = {
        "refund_reference": f"training:{number}:no_show_refund",
        "payment_reference": f"training:{number}:fee",
        "request_number": number,
        "amount_fils": 75000,
        "decided_by_role": "finance.approver",
        "applicant": Applicant(name="سامي خالد", phone=phone, lang=lang),
    }
    if approved:
        data: Any = RefundApproved(**common)
        key = "payments.refund.approved.v1"
    else:
        data = RefundRejected(**common, reason="لم تُرفق وثيقة تثبت سبب التغيب")
        key = "payments.refund.rejected.v1"
    return new_event(key, data, source_service="payments", subject=number, time=datetime.now(UTC))


async def publish(amqp: Any, event: CloudEvent) -> None:
    await publish_raw(amqp, event.to_json(), routing_key=event.routing_key, message_id=event.id)


def one_time_code(phone: str, code: str, **fields: Any) -> SendSms:
    return SendSms(
        message_id=f"contractors:{uuid.uuid4().hex}",
        phone=phone,
        template="one_time_code",
        sealed_values=seal_values({"code": code}, public_key(CODE_PUBLIC_KEY)),
        sensitive=True,
        **{"expires_at": datetime.now(UTC) + timedelta(minutes=10), **fields},
    )


async def send_command(amqp: Any, command: SendSms, *, body: bytes | None = None) -> None:
    event = send_sms_command(command, source_service="contractors", time=datetime.now(UTC))
    channel = await amqp.channel()
    try:
        exchange = await channel.get_exchange("amman.commands")
        await exchange.publish(
            aio_pika.Message(
                body if body is not None else event.to_json(),
                message_id=event.id,
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=SEND_SMS_ROUTING_KEY,
        )
    finally:
        await channel.close()


@pytest.fixture
async def failures(amqp: Any) -> AsyncIterator[list[SmsFailed]]:
    """Every `notifier.sms.failed.v1` published while the test runs."""
    channel = await amqp.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind("amman.events", routing_key="notifier.sms.failed.v1")
    received: list[SmsFailed] = []

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        envelope = json.loads(message.body)
        received.append(SmsFailed.model_validate(envelope["data"]))
        await message.ack()

    await queue.consume(keep)
    yield received
    await channel.close()


# ---- reading what the notifier recorded ---------------------------------------------------


class Reader:
    """The notifier's API, as staff (or anyone with a token) use it."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    async def search(self, **filters: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            return await client.get("/v1/messages", params=filters, headers=bearer(self.token))

    async def messages(self, **filters: Any) -> list[dict[str, Any]]:
        response = await self.search(**filters)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def detail(self, message_id: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            return await client.get(f"/v1/messages/{message_id}", headers=bearer(self.token))

    async def settled(
        self, request_number: str, *statuses: str, count: int = 1, timeout: float = 20
    ) -> list[dict[str, Any]]:
        """The messages of a request, once `count` of them are in one of `statuses`."""

        async def probe() -> list[dict[str, Any]] | None:
            found = await self.messages(request_number=request_number)
            done = [item for item in found if item["status"] in statuses]
            return found if len(done) >= count else None

        found: list[dict[str, Any]] = await eventually(
            probe, timeout=timeout, message=f"{request_number} reaches {statuses}"
        )
        return found

    async def history(self, message_id: str) -> list[str]:
        response = await self.detail(message_id)
        assert response.status_code == 200, response.text
        return [step["status"] for step in response.json()["history"]]


@pytest.fixture
def staff(notifier: Any, token_for: Any) -> Reader:
    return Reader(notifier.url, token_for("staff-1", STAFF))


async def post_receipt(
    url: str, body: dict[str, Any], *, secret: str = RECEIPT_SECRET, signature: str | None = None
) -> httpx.Response:
    raw = json.dumps(body).encode()
    signed = signature if signature is not None else receipt_signature(secret.encode(), raw)
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        return await client.post(
            "/v1/receipts",
            content=raw,
            headers={"Content-Type": "application/json", "X-Notifier-Signature": signed},
        )
