"""Fixtures of the contractors end-to-end tests: contractors, payments and notifier run as real
processes on the real broker and database, in a RabbitMQ virtual host of the test's own, each
with its own database and one shared `CLOCK_FILE` (`platform.move_clock(instant)`).

The notifier sends through its HTTP gateway to a fake SMS provider in this process: that is the
applicant's phone, where the one-time code is read as a person reads it (the notifier's API shows
a code masked, by design). Every other SMS is read from the notifier's message list.

The registry is imported at start through the registrar's API (`REGISTRY_CSV`).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from services.common.clock import set_file_clock
from services.payments import simulator
from tests.integration.conftest import ServiceProcess, eventually
from tests.integration.helpers import bearer, create_vhost, delete_vhost, metric, publish_raw
from tests.integration.notifier.provider import FakeProvider

PROVIDER_SECRET = "contractors-integration-efawateercom-secret-0123456789"
BILLER_CODE = "106"
REVIEWER = "contractors.reviewer"
REGISTRAR = "contractors.registrar"
NOTIFIER_STAFF = "notifier.staff"
FILE_CLOCK_RECHECK_SECONDS = 0.3
PREFIX = "أمانة عمّان الكبرى: "

# buildings/3 pays 100 JOD, maintenance is free (services/contractors/fees.json).
REGISTRY_CSV = """contractor_number,name_ar,name_en,classification,category,phone,permit_number,\
permit_year,valid_from,valid_to,permit_status
C-10234,مؤسسة النور للمقاولات,Al-Noor Contracting Est.,buildings,3,0791234567,P-2026-0112,2026,\
2026-01-01,2026-12-31,active
C-10234,مؤسسة النور للمقاولات,Al-Noor Contracting Est.,buildings,3,0791234567,P-2025-0456,2025,\
2025-01-01,2025-12-31,active
C-30555,مؤسسة الصيانة الحديثة,Modern Maintenance Est.,maintenance,5,,P-2025-1201,2025,\
2025-06-01,2026-05-31,active
C-40017,شركة الوادي للمقاولات,Al-Wadi Contracting Co.,buildings,1,,P-2024-0077,2024,\
2024-01-01,2024-12-31,suspended
"""
PAID = {"contractor_number": "C-10234", "permit_number": "P-2026-0112", "permit_year": 2026}
PAID_OLD = {"contractor_number": "C-10234", "permit_number": "P-2025-0456", "permit_year": 2025}
FREE = {"contractor_number": "C-30555", "permit_number": "P-2025-1201", "permit_year": 2025}
SUSPENDED = {"contractor_number": "C-40017", "permit_number": "P-2024-0077", "permit_year": 2024}


def random_phone() -> str:
    """A Zain number in E.164, clear of the log gateway's reserved numbers."""
    return f"+96279{random.randint(2_000_000, 9_999_999)}"


def local(phone: str) -> str:
    """`+962791234567` as a person types it: `0791234567`."""
    return "0" + phone.removeprefix("+962")


@dataclass
class Published:
    events: list[tuple[str, bytes]] = field(default_factory=list)

    def of(self, routing_key: str, subject: str) -> list[bytes]:
        return [
            body
            for key, body in self.events
            if key == routing_key and json.loads(body).get("subject") == subject
        ]

    async def one(self, routing_key: str, subject: str) -> bytes:
        async def seen() -> list[bytes]:
            return self.of(routing_key, subject)

        found: list[bytes] = await eventually(seen, message=f"{routing_key} of {subject}")
        return found[0]


@dataclass(frozen=True)
class Broker:
    url: str
    connection: aio_pika.abc.AbstractRobustConnection


@pytest.fixture
async def broker(infra: Any) -> AsyncIterator[Broker]:
    name = f"contractors-{uuid.uuid4().hex[:8]}"
    isolated = await create_vhost(infra.amqp_url, name)
    url = isolated or infra.amqp_url
    connection = await aio_pika.connect_robust(url)
    channel = await connection.channel()
    await channel.declare_exchange("amman.events", aio_pika.ExchangeType.TOPIC, durable=True)
    await channel.close()
    yield Broker(url, connection)
    await connection.close()
    if isolated is not None:
        await delete_vhost(infra.amqp_url, name)


@pytest.fixture
async def published(broker: Broker) -> AsyncIterator[Published]:
    channel = await broker.connection.channel()
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    for pattern in ("contractors.#", "payments.bill.#"):
        await queue.bind("amman.events", routing_key=pattern)
    seen = Published()

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        seen.events.append((message.routing_key or "", message.body))
        await message.ack()

    await queue.consume(keep)
    yield seen
    await channel.close()


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


@dataclass
class Platform:
    contractors: ServiceProcess
    payments: ServiceProcess | None
    notifier: ServiceProcess
    provider: FakeProvider
    clock_file: Path
    token_for: Callable[..., str]
    amqp: Any
    database: Any
    offset: timedelta = timedelta(0)

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    async def move_clock(self, instant: datetime) -> None:
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)
        await asyncio.sleep(FILE_CLOCK_RECHECK_SECONDS)

    # ---- who calls ---------------------------------------------------------------------------

    def citizen(self, name: str = "citizen-1") -> str:
        return self.token_for(name, "citizen")

    def reviewer(self) -> str:
        return self.token_for("reviewer-1", REVIEWER)

    def registrar(self) -> str:
        return self.token_for("registrar-1", REGISTRAR)

    async def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, **options: Any
    ) -> httpx.Response:
        headers = {**(bearer(token) if token else {}), **options.pop("headers", {})}
        async with httpx.AsyncClient(base_url=self.contractors.url, timeout=15) as client:
            if "content" in options:
                return await client.request(method, path, headers=headers, **options)
            return await client.request(method, path, headers=headers, json=body, **options)

    # ---- the renewal, as the applicant does it ---------------------------------------------------

    async def send_code(
        self, token: str, phone: str, permit: dict[str, Any] = PAID, lang: str = "ar"
    ) -> httpx.Response:
        return await self.call(
            "POST", "/v1/verifications", token, {**permit, "phone": local(phone), "lang": lang}
        )

    async def code_on(self, phone: str, count: int = 1) -> str:
        """The code in the `count`-th SMS the phone received, read as the applicant reads it."""

        async def arrived() -> bool:
            return len(self.provider.to(phone)) >= count

        await eventually(arrived, message=f"{count} SMS to {phone}")
        text = self.provider.to(phone)[count - 1].text
        match = re.search(r"(?:هو|is) (\d{4,10})", text)
        assert match, text
        return match.group(1)

    def form(
        self,
        phone: str,
        verification_id: str,
        code: str,
        permit: dict[str, Any] = PAID,
        **more: Any,
    ) -> dict[str, Any]:
        return {
            **permit,
            "reason": "انتهاء مدة التصريح",
            "phone": local(phone),
            "verification_id": verification_id,
            "code": code,
            "lang": "ar",
            **more,
        }

    async def submit_form(self, token: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return await self.call("POST", "/v1/requests", token, body, headers=headers)

    async def renewal(
        self, token: str, permit: dict[str, Any] = PAID, lang: str = "ar"
    ) -> dict[str, Any]:
        """Steps 1 and 2 as a person does them: lookup, code to the phone, submit."""
        phone = random_phone()
        assert (await self.call("POST", "/v1/lookups", token, permit)).status_code == 200
        sent = await self.send_code(token, phone, permit, lang)
        assert sent.status_code == 201, sent.text
        code = await self.code_on(phone)
        response = await self.submit_form(
            token, self.form(phone, sent.json()["verification_id"], code, permit, lang=lang)
        )
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def inquiry(self, number: str, token: str | None = None) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/requests/{number}", token or self.reviewer())
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def reaches(self, number: str, status: str, timeout: float = 20) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            request = await self.inquiry(number)
            return request if request["status"] == status else None

        found: dict[str, Any] = await eventually(
            probe, timeout=timeout, message=f"{number} reaches {status}"
        )
        return found

    async def decide(self, number: str, action: str, body: Any = None) -> dict[str, Any]:
        response = await self.call(
            "POST", f"/v1/requests/{number}/{action}", self.reviewer(), body or {}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def permit(self, contractor: str, number: str) -> dict[str, Any]:
        response = await self.call(
            "GET", f"/v1/registry/contractors/{contractor}", self.registrar()
        )
        assert response.status_code == 200, response.text
        permit: dict[str, Any] = next(
            p for p in response.json()["permits"] if p["permit_number"] == number
        )
        return permit

    # ---- the SMS, as the notifier lists them -------------------------------------------------

    async def sms(self, number: str, count: int, timeout: float = 20) -> list[str]:
        token = self.token_for("notifier-staff", NOTIFIER_STAFF)

        async def probe() -> list[dict[str, Any]] | None:
            async with httpx.AsyncClient(base_url=self.notifier.url, timeout=10) as client:
                response = await client.get(
                    "/v1/messages",
                    params={"request_number": number, "limit": 100},
                    headers=bearer(token),
                )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items if len(items) >= count else None

        items = await eventually(probe, timeout=timeout, message=f"{count} SMS for {number}")
        return [
            item["text"]
            for item in sorted(items, key=lambda item: datetime.fromisoformat(item["created_at"]))
        ]

    async def e_payment_number(self, number: str) -> str:
        texts = await self.sms(number, 2)  # the request number, then the bill
        match = re.search(r"هو (\d+)", texts[1]) or re.search(r"is (\d+)", texts[1])
        assert match, texts[1]
        return match.group(1)

    async def pay(self, number: str) -> httpx.Response:
        assert self.payments is not None
        e_payment_number = await self.e_payment_number(number)
        secret = PROVIDER_SECRET.encode()
        moment = int(self.now().timestamp())
        async with httpx.AsyncClient(base_url=self.payments.url, timeout=15) as client:
            inquiry = simulator.inquiry_body(e_payment_number, biller_code=BILLER_CODE)
            bill = await client.post(
                simulator.PREFIX + "/bill-inquiries",
                content=inquiry,
                headers=simulator.signed_headers(inquiry, secret, timestamp=moment),
            )
            assert bill.status_code == 200, bill.text
            due_fils = int(Decimal(bill.json()["DueAmount"]) * 1000)
            notification = simulator.notification_body(
                e_payment_number,
                amount_fils=due_fils,
                due_fils=due_fils,
                biller_code=BILLER_CODE,
                service_type=bill.json()["ServiceType"],
                paid_at=self.now(),
            )
            return await client.post(
                simulator.PREFIX + "/payment-notifications",
                content=notification,
                headers=simulator.signed_headers(notification, secret, timestamp=moment),
            )

    # ---- the broker --------------------------------------------------------------------------

    async def deliver_again(self, body: bytes, *, new_id: bool = False) -> None:
        envelope = json.loads(body)
        if new_id:
            envelope["id"] = f"{envelope['id'][:24]}{random.getrandbits(32):08x}"
        routing_key = str(envelope["type"]).removeprefix("jo.gov.amman.")
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        await publish_raw(self.amqp, raw, routing_key=routing_key, message_id=envelope["id"])

    async def consumed(self, queue: str, count: int) -> None:
        name = self.contractors.queue(queue)

        async def done() -> bool:
            applied = await metric(self.contractors.url, "events_consumed_total", queue=name)
            skipped = await metric(self.contractors.url, "events_duplicate_total", queue=name)
            return applied + skipped >= count

        await eventually(done, message=f"{count} events consumed from {name}")


StartPlatform = Callable[..., Awaitable[Platform]]


@pytest.fixture
async def start_platform(
    broker: Broker,
    start_service: Any,
    tmp_path: Path,
    mongo: Any,
    database_name: str,
    token_for: Any,
    provider: FakeProvider,
) -> AsyncIterator[StartPlatform]:
    async def start(*, payments: bool = True, **settings: str) -> Platform:
        clock_file = tmp_path / "clock"
        shared = {"CLOCK_FILE": str(clock_file), "AMQP_URL": broker.url}
        contractors = start_service(
            "services.contractors",
            **shared,
            MONGO_DATABASE=f"{database_name}_contractors",
            **settings,
        )
        started = [contractors]
        payments_process = None
        if payments:
            payments_process = start_service(
                "services.payments",
                **shared,
                MONGO_DATABASE=f"{database_name}_payments",
                PAYMENTS_EFAWATEERCOM_SECRET=PROVIDER_SECRET,
                PAYMENTS_BILLER_CODE=BILLER_CODE,
            )
            started.append(payments_process)
        notifier = start_service(
            "services.notifier",
            **shared,
            MONGO_DATABASE=f"{database_name}_notifier",
            NOTIFIER_GATEWAY="http",
            NOTIFIER_HTTP_URL=provider.url,
            NOTIFIER_HTTP_TOKEN="test-provider-token",
            NOTIFIER_SEND_POLL_SECONDS="0.05",
            NOTIFIER_RATE_LIMIT_PER_SECOND="200",
        )
        started.append(notifier)
        await asyncio.gather(*(process.wait_ready() for process in started))
        platform = Platform(
            contractors=contractors,
            payments=payments_process,
            notifier=notifier,
            provider=provider,
            clock_file=clock_file,
            token_for=token_for,
            amqp=broker.connection,
            database=mongo[f"{database_name}_contractors"],
        )
        imported = await platform.call(
            "POST",
            "/v1/registry/imports",
            platform.registrar(),
            content=REGISTRY_CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert imported.status_code == 200, imported.text
        return platform

    yield start
    for service in ("contractors", "payments", "notifier"):
        await mongo.drop_database(f"{database_name}_{service}")
