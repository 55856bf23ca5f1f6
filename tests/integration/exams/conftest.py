"""Fixtures of the exams end-to-end tests: exams, payments and notifier run as real processes on
the real broker and database, as a person would try them.

- `broker`: a RabbitMQ virtual host of the test's own. The three processes are a whole platform,
  and on the shared exchange any other run's payments process would bill this test's requests
  too (and could expire "its" bill, cancelling this test's request), so each test gets its own
  `amman.events`. Where the broker has no management API, the shared virtual host is used.
- `start_platform(...)`: starts the processes a test needs (exams alone, or with payments and the
  notifier), each with its own database, on the test's virtual host, with one shared
  `CLOCK_FILE` (`platform.move_clock(instant)` moves all three). Exams reads a test catalogue in
  which the official ICDL Documents exam needs only 2 candidates, so two citizens fill a session.
- `Platform`: the exams API as citizens and coordinators call it; the SMS as the notifier's
  message list shows them; the payment provider paying a bill by its e-payment number, signed
  with the payments simulator's own functions.
- `published`: every `exams.*` and `payments.bill.*` event published while the test runs, with
  its raw body, so a test can deliver one again.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from contracts import Applicant, BillPaid, new_event
from services.common.calendar import WorkingCalendar
from services.common.clock import set_file_clock
from services.exams import catalogue as exam_catalogue
from services.exams.domain import AMMAN
from services.payments import simulator
from tests.integration.conftest import ServiceProcess, eventually
from tests.integration.helpers import bearer, create_vhost, delete_vhost, metric, publish_raw

PROVIDER_SECRET = "exams-integration-efawateercom-secret-0123456789"
BILLER_CODE = "106"
COORDINATOR = "exams.coordinator"
NOTIFIER_STAFF = "notifier.staff"
OFFICIAL = "icdl-documents"
TRIAL = "icdl-practice"
CALENDAR = WorkingCalendar()
FILE_CLOCK_RECHECK_SECONDS = 0.3


def form(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exam_type": "trial",
        "exam_code": TRIAL,
        "applicant_name": "ليلى أحمد الحداد",
        "id_type": "national_number",
        "id_number": "9871012345",
        "phone": f"079{random.randint(2_000_000, 9_999_999)}",
        "lang": "ar",
    }
    body.update(changes)
    if body["exam_code"] == OFFICIAL and "exam_type" not in changes:
        body["exam_type"] = "official"
    return body


@dataclass
class Published:
    """Events seen on `amman.events` while the test runs: (routing key, body), in arrival order."""

    events: list[tuple[str, bytes]] = field(default_factory=list)

    def of(self, routing_key: str, subject: str) -> list[bytes]:
        return [
            body
            for key, body in self.events
            if key == routing_key and json.loads(body).get("subject") == subject
        ]

    def count(self, prefix: str) -> int:
        """How many events whose routing key starts with `prefix` were seen."""
        return sum(1 for key, _ in self.events if key.startswith(prefix))

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
    name = f"exams-{uuid.uuid4().hex[:8]}"
    isolated = await create_vhost(infra.amqp_url, name)
    url = isolated or infra.amqp_url
    connection = await aio_pika.connect_robust(url)
    # Declared as the services declare it, so the test can bind to it before they start.
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
    for pattern in ("exams.#", "payments.bill.#"):
        await queue.bind("amman.events", routing_key=pattern)
    seen = Published()

    async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        seen.events.append((message.routing_key or "", message.body))
        await message.ack()

    await queue.consume(keep)
    yield seen
    await channel.close()


@dataclass
class Platform:
    exams: ServiceProcess
    payments: ServiceProcess | None
    notifier: ServiceProcess | None
    clock_file: Path
    database: Any
    token_for: Callable[..., str]
    amqp: Any
    # Real time minus the services' time, once the clock was moved.
    offset: timedelta = timedelta(0)

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    async def move_clock(self, instant: datetime) -> None:
        """Move every process's time to `instant`, and return once they all read it."""
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)
        # A FileClock re-reads its file at most every 0.2 s (services/common/clock.py): nothing
        # a test can ask a service reports its time, so wait out that period.
        await asyncio.sleep(FILE_CLOCK_RECHECK_SECONDS)

    # ---- who calls ---------------------------------------------------------------------------

    def citizen(self, name: str = "citizen-1") -> str:
        return self.token_for(name, "citizen")

    def coordinator(self, name: str = "coordinator-1") -> str:
        return self.token_for(name, COORDINATOR)

    # ---- the exams API -----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        **options: Any,
    ) -> httpx.Response:
        headers = {**(bearer(token) if token else {}), **options.pop("headers", {})}
        async with httpx.AsyncClient(base_url=self.exams.url, timeout=15) as client:
            return await client.request(method, path, headers=headers, json=body, **options)

    async def submit(self, token: str, **changes: Any) -> dict[str, Any]:
        response = await self.call("POST", "/v1/requests", token, form(**changes))
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def inquiry(self, number: str, token: str | None = None) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/requests/{number}", token or self.coordinator())
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

    async def act(
        self, number: str, action: str, body: Any = None, token: str | None = None
    ) -> Any:
        response = await self.call(
            "POST", f"/v1/requests/{number}/{action}", token or self.coordinator(), body or {}
        )
        assert response.status_code == 200, response.text
        return response.json()

    # ---- the SMS, as the notifier lists them -------------------------------------------------

    async def sms(self, number: str, count: int, timeout: float = 20) -> list[str]:
        """The texts of the request's SMS, oldest first, once there are `count` of them."""
        assert self.notifier is not None
        token = self.token_for("notifier-staff", NOTIFIER_STAFF)

        async def probe() -> list[dict[str, Any]] | None:
            async with httpx.AsyncClient(base_url=self.notifier.url, timeout=10) as client:  # type: ignore[union-attr]
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
        """The e-payment number, read from the bill's SMS as the applicant reads it."""
        bill = (await self.sms(number, 1))[0]  # the first SMS of a request
        match = re.search(r"هو (\d+)", bill) or re.search(r"is (\d+)", bill)
        assert match, bill
        return match.group(1)

    # ---- the payment provider ----------------------------------------------------------------

    async def pay(self, number: str) -> httpx.Response:
        """Pay a request's bill the way eFAWATEERcom does: a bill inquiry, then a signed
        payment notification for the amount due."""
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
        """Publish an event again: the same message (a redelivery), or the same event data under
        a new id (a producer that published it twice)."""
        envelope = json.loads(body)
        if new_id:
            envelope["id"] = f"{envelope['id'][:24]}{random.getrandbits(32):08x}"
        routing_key = str(envelope["type"]).removeprefix("jo.gov.amman.")
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        await publish_raw(self.amqp, raw, routing_key=routing_key, message_id=envelope["id"])

    async def bill_paid(self, number: str, amount_fils: int) -> None:
        """Publish the `payments.bill.paid.v1` payments would publish for the request's fee
        (for tests that run exams alone)."""
        data = BillPaid(
            payment_reference=f"exams:{number}:fee",
            request_number=number,
            e_payment_number="2026000123457",
            amount_fils=amount_fils,
            paid_at=self.now(),
            applicant=Applicant(name="ليلى أحمد الحداد", phone="+962791234567"),
            provider="efawateercom",
        )
        event = new_event(
            "payments.bill.paid.v1",
            data,
            source_service="payments",
            subject=number,
            time=self.now(),
        )
        await publish_raw(self.amqp, event.to_json(), event.routing_key, message_id=event.id)

    async def consumed(self, queue: str, count: int) -> None:
        """Wait until the exams queue has taken `count` events (applied or skipped as seen)."""
        name = self.exams.queue(queue)

        async def done() -> bool:
            applied = await metric(self.exams.url, "events_consumed_total", queue=name)
            skipped = await metric(self.exams.url, "events_duplicate_total", queue=name)
            return applied + skipped >= count

        await eventually(done, message=f"{count} events consumed from {name}")

    async def eventually(self, probe: Callable[[], Awaitable[Any]], **options: Any) -> Any:
        return await eventually(probe, **options)

    async def metric(self, name: str, **labels: str) -> float:
        return await metric(self.exams.url, name, **labels)


def next_exam_time(after: datetime, days: int = 2, hour: int = 10) -> datetime:
    """10:00 in Amman on a working day at least `days` days after `after`."""
    day = CALENDAR.add_working_days(CALENDAR.local_date(after), days)
    return datetime.combine(day, time(hour), tzinfo=AMMAN).astimezone(UTC)


def write_test_catalogue(directory: Path) -> Path:
    """The shipped catalogue, with sessions of ICDL Documents filled by 2 candidates."""
    raw = json.loads(exam_catalogue.DEFAULT_FILE.read_text(encoding="utf-8"))
    for exam in raw["exams"]:
        if exam["code"] == OFFICIAL:
            exam["min_candidates"], exam["seats"] = 2, 3
    path = directory / "catalogue.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


StartPlatform = Callable[..., Awaitable[Platform]]


@pytest.fixture
async def start_platform(
    broker: Broker,  # first: its virtual host outlives the processes that use it
    start_service: Any,
    tmp_path: Path,
    mongo: Any,
    database_name: str,
    token_for: Any,
) -> AsyncIterator[StartPlatform]:
    processes: list[ServiceProcess] = []

    async def start(
        *, payments: bool = True, notifier: bool = True, at: datetime | None = None
    ) -> Platform:
        clock_file = tmp_path / "clock"
        if at is not None:
            set_file_clock(clock_file, at)
        database = mongo[f"{database_name}_exams"]
        shared = {"CLOCK_FILE": str(clock_file), "AMQP_URL": broker.url}
        exams = start_service(
            "services.exams",
            **shared,
            MONGO_DATABASE=f"{database_name}_exams",
            EXAMS_CATALOGUE_FILE=str(write_test_catalogue(tmp_path)),
        )
        started = [exams]
        payments_process = notifier_process = None
        if payments:
            payments_process = start_service(
                "services.payments",
                **shared,
                MONGO_DATABASE=f"{database_name}_payments",
                PAYMENTS_EFAWATEERCOM_SECRET=PROVIDER_SECRET,
                PAYMENTS_BILLER_CODE=BILLER_CODE,
            )
            started.append(payments_process)
        if notifier:
            notifier_process = start_service(
                "services.notifier",
                **shared,
                MONGO_DATABASE=f"{database_name}_notifier",
                NOTIFIER_SEND_POLL_SECONDS="0.05",
                NOTIFIER_RATE_LIMIT_PER_SECOND="200",
            )
            started.append(notifier_process)
        processes.extend(started)
        await asyncio.gather(*(process.wait_ready() for process in started))
        platform = Platform(
            exams=exams,
            payments=payments_process,
            notifier=notifier_process,
            clock_file=clock_file,
            database=database,
            token_for=token_for,
            amqp=broker.connection,
        )
        if at is not None:
            platform.offset = datetime.now(UTC) - at
        return platform

    yield start
    for process in processes:
        process.terminate(timeout=20)
    for service in ("exams", "payments", "notifier"):
        await mongo.drop_database(f"{database_name}_{service}")
