"""The licensing service end to end: licensing, payments and the notifier as real processes.

One set of the three processes serves the whole package (each test makes its own applicants and
requests, so they do not meet); each process has its own database. They talk on a RabbitMQ
virtual host of their own, so that no other suite's payments process bills our requests (or moves
their clock). Licensing and payments read one clock file, so a test moves their time together
(`platform.move_clock`), forward only. SMS are read back from the notifier's API, as a person
would; the events on the exchange are recorded (`platform.published`) for the redelivery test.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import httpx
import pytest

from services.common.calendar import WorkingCalendar
from services.common.clock import set_file_clock
from services.common.devtoken import mint_token
from services.payments import simulator
from tests.integration.conftest import Infra, ServiceProcess, eventually
from tests.integration.helpers import bearer, create_vhost, delete_vhost, metric, publish_raw

SECRET = "integration-test-efawateercom-secret-0123456789"
BILLER_CODE = "106"
CLERK = "licensing.clerk"
INSPECTOR = "licensing.inspector"
COMMITTEE = "licensing.committee"
EXTERNAL = "licensing.external_authority"
NOTIFIER_STAFF = "notifier.staff"
AMMAN = ZoneInfo("Asia/Amman")
CALENDAR = WorkingCalendar()
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Grocery, 35.5 m²: 25.000 JOD for the first 20 m², then 16 m² at 0.500 JOD.
GROCERY_FEE = 33_000


@dataclass
class Published:
    """Events seen on `amman.events` (licensing.# and payments.bill.#), in arrival order."""

    events: list[tuple[str, bytes]] = field(default_factory=list)

    def of(self, routing_key: str, subject: str) -> list[bytes]:
        return [
            body
            for key, body in self.events
            if key == routing_key and json.loads(body).get("subject") == subject
        ]

    def count(self, prefix: str, subject: str) -> int:
        return sum(
            1
            for key, body in self.events
            if key.startswith(prefix) and json.loads(body).get("subject") == subject
        )

    async def one(self, routing_key: str, subject: str) -> bytes:
        async def seen() -> list[bytes]:
            return self.of(routing_key, subject)

        found: list[bytes] = await eventually(seen, message=f"{routing_key} of {subject}")
        return found[0]


@dataclass
class Platform:
    licensing: ServiceProcess
    payments: ServiceProcess
    notifier: ServiceProcess
    clock_file: Path
    private_key: str
    connection: aio_pika.abc.AbstractRobustConnection
    published: Published
    offset: timedelta = timedelta(0)

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    async def move_clock(self, instant: datetime) -> None:
        """Licensing's and payments' time jumps to `instant` (and runs on from there)."""
        assert instant >= self.now(), "the clock only moves forward"
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)
        await asyncio.sleep(0.5)  # FileClock re-reads the file at most every 0.2 s

    def next_slot(self, working_days: int = 1, hour: int = 10) -> datetime:
        """`hour` o'clock in Amman on the `working_days`-th working day from the services' today."""
        day = CALENDAR.add_working_days(CALENDAR.local_date(self.now()), working_days)
        return datetime.combine(day, time(hour), tzinfo=AMMAN).astimezone(UTC)

    # ---- identities ------------------------------------------------------------------------

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(subject, roles or ("citizen",), private_key_pem=self.private_key)

    @property
    def clerk(self) -> str:
        return self.token("clerk-1", CLERK)

    @property
    def inspector(self) -> str:
        return self.token("inspector-1", INSPECTOR)

    @property
    def committee(self) -> str:
        return self.token("committee-1", COMMITTEE)

    # ---- HTTP ------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        *,
        service: ServiceProcess | None = None,
        headers: dict[str, str] | None = None,
        files: Any = None,
        **params: Any,
    ) -> httpx.Response:
        target = service or self.licensing
        async with httpx.AsyncClient(base_url=target.url, timeout=30) as client:
            return await client.request(
                method,
                path,
                json=body,
                files=files,
                params=params or None,
                headers={**(bearer(token) if token else {}), **(headers or {})},
            )

    # ---- the applicant ---------------------------------------------------------------------

    def citizen(self) -> str:
        return f"citizen-{uuid.uuid4().hex[:8]}"

    def request_body(self, lang: str = "ar", **changes: Any) -> dict[str, Any]:
        phone = f"+96279{random.randrange(10**6, 10**7):07d}"
        body: dict[str, Any] = {
            "applicant_kind": "individual",
            "applicant": {
                "name": "محمود خليل",
                "phone": phone,
                "lang": lang,
                "id_type": "national",
                "id_number": f"98{random.randrange(10**7, 10**8):08d}",
            },
            "camp": "wehdat",
            "profession": "grocery",
            "area_m2": 35.5,
            "trade_name": "بقالة الأمل",
            "address": "شارع السوق، بجانب مدرسة الوكالة",
            "tenure": "rented",
        }
        body.update(changes)
        return body

    async def create(self, subject: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.call(
            "POST",
            "/v1/requests",
            self.token(subject),
            body or self.request_body(),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    async def upload(
        self,
        number: str,
        subject: str,
        kind: str,
        data: bytes = PDF,
        filename: str = "doc.pdf",
        content_type: str = "application/pdf",
    ) -> httpx.Response:
        return await self.call(
            "PUT",
            f"/v1/requests/{number}/documents/{kind}",
            self.token(subject),
            files={"file": (filename, data, content_type)},
        )

    async def submitted(self, lang: str = "ar", **changes: Any) -> tuple[str, str]:
        """A new applicant's request, with its documents, submitted: (number, subject)."""
        subject = self.citizen()
        body = self.request_body(lang, **changes)
        created = await self.create(subject, body)
        assert created.status_code == 201, created.text
        number: str = created.json()["number"]
        second = "lease_contract" if body["tenure"] == "rented" else "allocation_document"
        for kind in ("occupancy_permit", second):
            uploaded = await self.upload(number, subject, kind)
            assert uploaded.status_code == 200, uploaded.text
        response = await self.act(number, subject, "submit")
        assert response.status_code == 200, response.text
        return number, subject

    async def act(self, number: str, subject: str, action: str) -> httpx.Response:
        return await self.call("POST", f"/v1/requests/{number}/{action}", self.token(subject))

    async def request(self, number: str, token: str | None = None) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/requests/{number}", token or self.clerk)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def status_becomes(self, number: str, status: str, timeout: float = 20) -> None:
        async def reached() -> bool:
            return (await self.request(number))["status"] == status

        await eventually(reached, timeout=timeout, message=f"{number} becomes {status}")

    # ---- staff -----------------------------------------------------------------------------

    async def check_documents(
        self, number: str, issues: list[dict[str, Any]] | None = None
    ) -> httpx.Response:
        body = {"accepted": not issues, "issues": issues or []}
        return await self.call("POST", f"/v1/requests/{number}/document-check", self.clerk, body)

    async def schedule(self, number: str, at: datetime) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/requests/{number}/inspection",
            self.inspector,
            {"inspection_at": at.isoformat()},
        )

    async def inspect(
        self, number: str, compliant: bool, findings: str | None = None
    ) -> httpx.Response:
        """Go to the appointment (the clock moves to it) and record the result."""
        at = datetime.fromisoformat((await self.request(number))["inspection_at"])
        if at > self.now():
            await self.move_clock(at)
        return await self.call(
            "POST",
            f"/v1/requests/{number}/inspection-result",
            self.inspector,
            {"compliant": compliant, "findings": findings},
        )

    async def decide(self, number: str, decision: str, **extra: Any) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/requests/{number}/committee-decision",
            self.committee,
            {"decision": decision, **extra},
        )

    async def to_committee(self, number: str) -> None:
        """Documents accepted, inspection scheduled and passed: before the committee."""
        assert (await self.check_documents(number)).status_code == 200
        await self.to_committee_from_inspection(number)

    async def to_committee_from_inspection(self, number: str) -> None:
        assert (await self.schedule(number, self.next_slot())).status_code == 200
        response = await self.inspect(number, compliant=True)
        assert response.status_code == 200, response.text
        assert (await self.request(number))["status"] == "committee_review"

    # ---- SMS (the notifier) ----------------------------------------------------------------

    async def messages(self, number: str) -> list[dict[str, Any]]:
        response = await self.call(
            "GET",
            "/v1/messages",
            self.token("notifier-staff", NOTIFIER_STAFF),
            service=self.notifier,
            request_number=number,
            limit=100,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def sms(self, number: str, template: str, count: int = 1, timeout: float = 25) -> str:
        """The text of the `count`-th SMS sent for `number` from `template` (waits for it)."""

        async def sent() -> list[dict[str, Any]]:
            found = [m for m in await self.messages(number) if m["template"] == template]
            return found if len(found) >= count else []

        found = await eventually(sent, timeout=timeout, message=f"SMS {template} for {number}")
        assert len(found) == count, found
        ordered = sorted(found, key=lambda m: datetime.fromisoformat(m["created_at"]))
        text: str = ordered[-1]["text"]
        return text

    async def sms_texts(self, number: str, template: str) -> list[str]:
        return [m["text"] for m in await self.messages(number) if m["template"] == template]

    async def templates(self, number: str) -> list[str]:
        return sorted(m["template"] for m in await self.messages(number))

    # ---- payments --------------------------------------------------------------------------

    async def bills(self, number: str, subject: str) -> list[dict[str, Any]]:
        response = await self.call("GET", "/v1/bills", self.token(subject), service=self.payments)
        assert response.status_code == 200, response.text
        return [b for b in response.json()["items"] if b["request_number"] == number]

    async def bill(self, number: str, subject: str, reference: str | None = None) -> dict[str, Any]:
        async def issued() -> list[dict[str, Any]]:
            return [
                b
                for b in await self.bills(number, subject)
                if reference is None or b["payment_reference"] == reference
            ]

        bills = await eventually(issued, message=f"bill of {number}")
        bill: dict[str, Any] = bills[0]
        return bill

    async def pay(self, e_payment_number: str, amount_fils: int) -> None:
        body = simulator.notification_body(
            e_payment_number,
            amount_fils=amount_fils,
            due_fils=amount_fils,
            biller_code=BILLER_CODE,
            service_type="LICENSING",
            paid_at=self.now(),
        )
        headers = simulator.signed_headers(
            body, SECRET.encode(), timestamp=int(self.now().timestamp())
        )
        async with httpx.AsyncClient(base_url=self.payments.url, timeout=15) as client:
            response = await client.post(
                simulator.PREFIX + "/payment-notifications", content=body, headers=headers
            )
        assert response.status_code == 200, response.text

    # ---- delivery --------------------------------------------------------------------------

    async def deliver_again(self, body: bytes, *, new_id: bool = False) -> None:
        """Publish an event again: the same message (a redelivery), or the same event data under
        a new id (a producer that published it twice)."""
        envelope = json.loads(body)
        if new_id:
            envelope["id"] = f"{envelope['id'][:24]}{random.getrandbits(32):08x}"
        routing_key = str(envelope["type"]).removeprefix("jo.gov.amman.")
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        await publish_raw(self.connection, raw, routing_key=routing_key, message_id=envelope["id"])

    async def consumed(self, count: int) -> None:
        """Wait until licensing's bill queue has taken `count` events (applied or skipped)."""
        name = self.licensing.queue("licensing.bills")

        async def done() -> bool:
            applied = await metric(self.licensing.url, "events_consumed_total", queue=name)
            skipped = await metric(self.licensing.url, "events_duplicate_total", queue=name)
            return applied + skipped >= count

        await eventually(done, message=f"{count} events consumed from {name}")

    async def metric(self, name: str, **labels: str) -> float:
        return await metric(self.licensing.url, name, **labels)


@pytest.fixture(scope="package")
async def platform(
    infra: Infra,
    jwt_keys: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    mongo: Any,
) -> AsyncIterator[Platform]:
    folder = tmp_path_factory.mktemp("licensing-e2e")
    clock_file = folder / "clock"
    suffix = uuid.uuid4().hex[:8]
    database = f"t_{uuid.uuid4().hex[:10]}"
    vhost = f"licensing-{suffix}"
    isolated = await create_vhost(infra.amqp_url, vhost)
    assert isolated is not None, "the licensing suite needs a RabbitMQ virtual host of its own"
    amqp_url = isolated
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        "amman.events", aio_pika.ExchangeType.TOPIC, durable=True
    )
    recorder = await channel.declare_queue(exclusive=True, auto_delete=True)
    for pattern in ("licensing.#", "payments.bill.#"):
        await recorder.bind(exchange, routing_key=pattern)
    published = Published()

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        published.events.append((message.routing_key or "", message.body))
        await message.ack()

    await recorder.consume(keep)
    common = {
        "ENVIRONMENT": "test",
        "AMQP_URL": amqp_url,
        "MONGO_URL": infra.mongo_url,
        "QUEUE_TYPE": os.environ.get("QUEUE_TYPE", "classic"),
        "QUEUE_SUFFIX": suffix,
        "JWT_PUBLIC_KEY": jwt_keys[1],
        "OUTBOX_POLL_SECONDS": "0.5",
        "SWEEPER_POLL_SECONDS": "0.3",
        "LOG_LEVEL": "INFO",
    }

    def process(module: str, **env: str) -> ServiceProcess:
        name = module.rsplit(".", 1)[-1]
        merged = {**common, "MONGO_DATABASE": f"{database}_{name}", **env}
        return ServiceProcess(module, merged, folder / f"{name}.log")

    licensing = process("services.licensing", CLOCK_FILE=str(clock_file))
    # The licence's link in the SMS points at this very process, so a test can follow it.
    licensing.env["LICENSING_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{licensing.port}"
    licensing.start()
    payments = process(
        "services.payments",
        CLOCK_FILE=str(clock_file),
        PAYMENTS_EFAWATEERCOM_SECRET=SECRET,
        PAYMENTS_BILLER_CODE=BILLER_CODE,
    )
    notifier = process(
        "services.notifier",
        NOTIFIER_SEND_WORKERS="2",
        NOTIFIER_SEND_POLL_SECONDS="0.1",
        NOTIFIER_RATE_LIMIT_PER_SECOND="200",
    )
    payments.start()
    notifier.start()
    started = [licensing, payments, notifier]
    try:
        for service in started:
            await service.wait_ready()
        yield Platform(
            licensing, payments, notifier, clock_file, jwt_keys[0], connection, published
        )
    finally:
        for service in started:
            service.terminate(timeout=20)
        await channel.close()
        await connection.close()
        await delete_vhost(infra.amqp_url, vhost)
        for name in ("licensing", "payments", "notifier"):
            await mongo.drop_database(f"{database}_{name}")
