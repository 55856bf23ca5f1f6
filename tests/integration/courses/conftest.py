"""The courses service end to end: courses, payments and the notifier as real processes.

One set of the three processes serves the whole package (each test makes its own courses and
applicants, so they do not meet); each process has its own database. They talk on a RabbitMQ
virtual host of their own: on the shared vhost every other suite's payments process would issue
its own bill for our payment requests (and ours for theirs), and a payments test moving its clock
would expire our bills. Courses and payments read one clock file, so a test moves their time
together (`platform.move_clock`). SMS are read back from the notifier's API, as a person would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from contracts import CloudEvent
from services.common.clock import set_file_clock
from services.common.devtoken import mint_token
from services.payments import simulator
from tests.integration.conftest import Infra, ServiceProcess, delete_suffixed_queues, eventually
from tests.integration.helpers import bearer, create_vhost, delete_vhost

SECRET = "integration-test-efawateercom-secret-0123456789"
BILLER_CODE = "106"
ADMIN = "courses.admin"
STAFF = "courses.staff"
TESTER = "courses.placement_tester"
NOTIFIER_STAFF = "notifier.staff"
_serial = itertools.count(1)


@dataclass
class Platform:
    courses: ServiceProcess
    payments: ServiceProcess
    notifier: ServiceProcess
    clock_file: Path
    private_key: str
    offset: timedelta = timedelta(0)
    connection: aio_pika.abc.AbstractRobustConnection | None = None
    # The courses service's own database, for the tests that play a crash.
    database: Any = None

    async def publish(self, event: CloudEvent, *, message_id: str | None = None) -> None:
        """Publish an event on the platform's exchange, as its producer would."""
        assert self.connection is not None
        channel = await self.connection.channel()
        try:
            exchange = await channel.get_exchange("amman.events")
            await exchange.publish(
                aio_pika.Message(
                    event.to_json(),
                    message_id=message_id or event.id,
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event.routing_key,
            )
        finally:
            await channel.close()

    # ---- time ------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) - self.offset

    async def move_clock(self, instant: datetime) -> None:
        """Courses' and payments' time jumps to `instant` (and runs on from there)."""
        self.offset = datetime.now(UTC) - instant
        set_file_clock(self.clock_file, instant)
        await asyncio.sleep(0.5)  # FileClock re-reads the file at most every 0.2 s

    # ---- identities ------------------------------------------------------------------------

    def token(self, subject: str, *roles: str) -> str:
        return mint_token(subject, roles or ("citizen",), private_key_pem=self.private_key)

    @property
    def admin(self) -> str:
        return self.token("admin-1", ADMIN)

    @property
    def staff(self) -> str:
        return self.token("staff-1", STAFF)

    # ---- HTTP ------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        *,
        service: ServiceProcess | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        target = service or self.courses
        async with httpx.AsyncClient(base_url=target.url, timeout=30) as client:
            return await client.request(
                method,
                path,
                json=body,
                params=params or None,
                headers={**bearer(token), **(headers or {})},
            )

    # ---- courses ---------------------------------------------------------------------------

    def course_body(
        self,
        *,
        fee_fils: int = 0,
        subject: str | None = None,
        minimum: int = 1,
        capacity: int = 20,
        starts_in: timedelta = timedelta(days=10),
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": {"ar": "أساسيات البرمجة بلغة بايثون", "en": "Python programming basics"},
            "fee_fils": fee_fils,
            "minimum": minimum,
            "capacity": capacity,
            "starts_at": (self.now() + starts_in).isoformat(),
            "schedule": {"ar": "الأحد والثلاثاء 5-7 مساءً", "en": "Sun and Tue 5-7 pm"},
            "place": {"ar": "المحطة المعرفية - ماركا", "en": "Knowledge Station, Marka"},
        }
        if subject is not None:
            body["prerequisite"] = {
                "subject_code": subject,
                "subject": {"ar": "أساسيات استخدام الحاسوب", "en": "basic computer use"},
                "placement_test_url": f"https://tests.amman.jo/p/{subject}",
            }
        return body

    async def open_course(self, **options: Any) -> str:
        created = await self.call("POST", "/v1/courses", self.admin, self.course_body(**options))
        assert created.status_code == 201, created.text
        code: str = created.json()["code"]
        published = await self.call("POST", f"/v1/courses/{code}/publish", self.admin)
        assert published.status_code == 200, published.text
        return code

    async def course(self, code: str) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/courses/{code}", self.admin)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    # ---- applicants ------------------------------------------------------------------------

    def applicant(self, lang: str = "ar") -> tuple[str, dict[str, Any]]:
        """A fresh citizen: (their JWT subject, the applicant details of a request)."""
        serial = next(_serial)
        subject = f"citizen-{uuid.uuid4().hex[:8]}"
        national_id = f"99{uuid.uuid4().int % 10**8:08d}"
        phone = f"+96279{(uuid.uuid4().int + serial) % 10**7:07d}"
        if phone in ("+962790000002", "+962790000003", "+962790000004"):
            phone = "+962791111111"
        return subject, {
            "name": "ليلى أحمد",
            "phone": phone,
            "lang": lang,
            "national_id": national_id,
        }

    async def enrol(
        self, code: str, subject: str, applicant: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        return await self.call(
            "POST",
            "/v1/requests",
            self.token(subject),
            {"course_code": code, "applicant": applicant},
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )

    async def enrolled(self, code: str, lang: str = "ar") -> tuple[str, str, dict[str, Any]]:
        """A new applicant's request for `code`: (request number, subject, applicant)."""
        subject, applicant = self.applicant(lang)
        response = await self.enrol(code, subject, applicant)
        assert response.status_code == 201, response.text
        return response.json()["number"], subject, applicant

    async def request(self, number: str, token: str | None = None) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/requests/{number}", token or self.staff)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def status_becomes(self, number: str, status: str, timeout: float = 20) -> None:
        async def reached() -> bool:
            return (await self.request(number))["status"] == status

        await eventually(reached, timeout=timeout, message=f"{number} becomes {status}")

    async def placement_result(self, number: str, passed: bool) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/requests/{number}/placement-test-result",
            self.token("testing-system", TESTER),
            {"passed": passed},
        )

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

    async def sms(self, number: str, template: str, timeout: float = 25) -> str:
        """The text of the SMS sent for `number` from `template` (waits for it)."""

        async def sent() -> list[dict[str, Any]]:
            return [m for m in await self.messages(number) if m["template"] == template]

        found = await eventually(sent, timeout=timeout, message=f"SMS {template} for {number}")
        assert len(found) == 1, found
        text: str = found[0]["text"]
        return text

    async def templates(self, number: str) -> list[str]:
        return sorted(m["template"] for m in await self.messages(number))

    # ---- payments --------------------------------------------------------------------------

    async def bill(self, number: str, subject: str) -> dict[str, Any]:
        async def issued() -> list[dict[str, Any]]:
            response = await self.call(
                "GET", "/v1/bills", self.token(subject), service=self.payments
            )
            return [b for b in response.json()["items"] if b["request_number"] == number]

        bills = await eventually(issued, message=f"bill of {number}")
        bill: dict[str, Any] = bills[0]
        return bill

    async def pay(self, e_payment_number: str, amount_fils: int) -> None:
        body = simulator.notification_body(
            e_payment_number,
            amount_fils=amount_fils,
            due_fils=amount_fils,
            biller_code=BILLER_CODE,
            service_type="COURSES",
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
        assert json.loads(response.content) is not None


@pytest.fixture(scope="package")
async def platform(
    infra: Infra,
    jwt_keys: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    amqp: aio_pika.abc.AbstractRobustConnection,
    mongo: Any,
) -> AsyncIterator[Platform]:
    import os

    folder = tmp_path_factory.mktemp("courses-e2e")
    clock_file = folder / "clock"
    suffix = uuid.uuid4().hex[:8]
    database = f"t_{uuid.uuid4().hex[:10]}"
    vhost = f"courses-{suffix}"
    amqp_url = await create_vhost(infra.amqp_url, vhost) or infra.amqp_url
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
        return ServiceProcess(module, merged, folder / f"{name}.log").start()

    courses = process("services.courses", CLOCK_FILE=str(clock_file))
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
    started = [courses, payments, notifier]
    connection: aio_pika.abc.AbstractRobustConnection | None = None
    try:
        for service in started:
            await service.wait_ready()
        connection = await aio_pika.connect_robust(amqp_url)
        yield Platform(
            courses,
            payments,
            notifier,
            clock_file,
            jwt_keys[0],
            connection=connection,
            database=mongo[f"{database}_courses"],
        )
    finally:
        for service in started:
            service.terminate(timeout=20)
        if connection is not None:
            await connection.close()
        if amqp_url == infra.amqp_url:
            await delete_suffixed_queues(amqp, suffix)
        else:
            await delete_vhost(infra.amqp_url, vhost)
        for name in ("courses", "payments", "notifier"):
            await mongo.drop_database(f"{database}_{name}")
